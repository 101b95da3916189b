"""app/cli/credits.py and app/cli/secrets.py: an operator shows, grants and re-tiers people's
credits, and re-encrypts stored provider keys after a key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.models import ProviderKey
from app.secrets import SecretBox
from app.runtime import current_state, repositories

ADA_KEY = "sk-ada-0123456789-abcd"
TEAM_KEY = "sk-team-9876543210-wxyz"


def balance(app, account) -> dict:
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            row = repos.credit_accounts.account_for(account.user.id)
            return {"tier": row.subscription_tier.value, "limit": row.tokens_limit_per_period,
                    "bonus": row.credits_bonus}


def test_show_prints_the_tier_and_balance(app, user, run_command, read_table):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            accounts = repos.credit_accounts
            accounts.settle(accounts.reserve(user.user.id, 2_000).id, 1_500)

    result = run_command("credits", "show", user.email.upper())

    assert result.exit_code == 0, result.output
    rows = dict(read_table(result.output))
    assert (rows["tier"], rows["limit"], rows["used this period"]) == ("free", "10,000", "1,500")
    assert (rows["reserved"], rows["bonus"], rows["remaining"], rows["total used"]) == ("0", "0", "8,500", "1,500")
    assert "(monthly)" in rows["period"]


def test_grant_adds_bonus_tokens(app, user, run_command, read_table):
    result = run_command("credits", "grant", user.email, "5000")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Granted 5,000 bonus tokens to {user.email}; bonus is now 5,000."
    assert balance(app, user)["bonus"] == 5_000
    assert dict(read_table(run_command("credits", "show", user.email).output))["remaining"] == "15,000"


def test_tier_moves_an_account_and_its_limit(app, user, run_command, read_table):
    result = run_command("credits", "tier", user.email, "enterprise")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{user.email} is now on the enterprise tier: unlimited tokens per period."
    assert balance(app, user) == {"tier": "enterprise", "limit": None, "bonus": 0}
    assert dict(read_table(run_command("credits", "show", user.email).output))["remaining"] == "unlimited"
    assert "200,000 tokens per period" in run_command("credits", "tier", user.email, "creator").output


@pytest.mark.parametrize("args", [
    ("show", "ghost@example.com"),
    ("grant", "ghost@example.com", "100"),
    ("tier", "ghost@example.com", "creator"),
])
def test_an_unknown_email_fails_with_a_clear_message(run_command, args):
    result = run_command("credits", *args)

    assert result.exit_code == 1
    assert "Error: No account uses ghost@example.com." in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, complaint", [
    (("grant", "0"), "0 is not in the range"),
    (("grant", "-5"), "No such option"),
    (("grant", "lots"), "'lots' is not a valid integer"),
    (("grant", "5000000000"), "is not in the range"),
    (("tier", "platinum"), "'platinum' is not one of"),
    (("grant",), "Missing argument 'TOKENS'"),
])
def test_bad_values_are_usage_errors_and_change_nothing(app, user, run_command, args, complaint):
    command, *rest = args

    result = run_command("credits", command, user.email, *rest)

    assert result.exit_code == 2, result.output
    assert complaint in result.output
    assert balance(app, user) == {"tier": "free", "limit": 10_000, "bonus": 0}


def store_keys(app, account, box: SecretBox) -> None:
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.provider_keys.add(provider="openai", secret=ADA_KEY, box=box, user_id=account.user.id)
            repos.provider_keys.add(provider="openai", secret=TEAM_KEY, box=box, tenant_id=account.tenant_id)


def stored_tokens(app) -> list[str]:
    with app.app_context():
        return [key.encrypted_key for key in repositories().provider_keys.list(order_by=[ProviderKey.created_at])]


def test_rotate_re_encrypts_every_stored_key_with_the_newest_key(app, make_app, user, run_command):
    store_keys(app, user, current_state(app).secrets)  # written before any key was configured
    new = Fernet.generate_key().decode()
    rotating = make_app(SECRET_ENCRYPTION_KEYS=new)

    result = run_command("secrets", "rotate", application=rotating)

    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 provider keys with the newest key." in result.output
    assert [SecretBox([new]).decrypt(token) for token in stored_tokens(app)] == [ADA_KEY, TEAM_KEY]


def test_rotate_reports_keys_no_configured_key_can_read(app, make_app, user, run_command):
    store_keys(app, user, SecretBox([Fernet.generate_key().decode()]))  # that key is lost

    result = run_command("secrets", "rotate")

    assert result.exit_code == 1
    assert "Re-encrypted 0 provider keys" in result.output
    assert "2 provider keys could not be decrypted with any configured key" in result.output
    assert ADA_KEY not in result.output and "Traceback" not in result.output


def test_subscription_changes_the_status_and_the_period(app, user, run_command):
    result = run_command("credits", "subscription", user.email, "--status", "paused", "--period", "annual")

    assert result.exit_code == 0, result.output
    assert "subscription paused, annual periods of 120,000 tokens" in result.output
    with app.app_context():
        row = repositories().credit_accounts.account_for(user.user.id)
        assert (row.subscription_status.value, row.subscription_period.value) == ("paused", "annual")

    refused = run_command("credits", "subscription", user.email)
    assert refused.exit_code != 0 and "Give --status, --period or both." in refused.output
    bad = run_command("credits", "subscription", user.email, "--status", "gone")
    assert bad.exit_code != 0 and "Invalid value for '--status'" in bad.output


def test_operator_commands_that_change_an_account_are_audited(app, user, run_command):
    from sqlalchemy import select

    from app.models import AuditLogEntry

    for command in (("grant-admin", user.email), ("credits", "grant", user.email, "500"),
                    ("credits", "tier", user.email, "creator"),
                    ("credits", "subscription", user.email, "--status", "paused"),
                    ("delete-user", user.email), ("restore-user", user.email), ("revoke-admin", user.email)):
        result = run_command(*command)
        assert result.exit_code == 0, (command, result.output)
    with app.app_context():
        entries = repositories().session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.entity_id == str(user.user.id), AuditLogEntry.action != "auth.register")
            .order_by(AuditLogEntry.created_at)).all()
    assert [entry.action for entry in entries] == [
        "user.platform_admin", "credits.grant", "credits.tier", "credits.subscription", "user.delete",
        "user.restore", "user.platform_admin"]
    assert all(entry.user_id is None and entry.details["via"] == "cli" for entry in entries)
    assert entries[2].changes == {"subscription_tier": {"before": "free", "after": "creator"}}
    assert entries[3].changes == {"subscription_status": {"before": "active", "after": "paused"}}
