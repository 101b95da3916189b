"""app/cli/accounts.py: platform administrators, the mail outbox, and expired-session clean-up."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.auth.tokens import hash_secret
from app.models import AuthSession, utcnow
from app.runtime import auth_service, mailer, password_reset_link_base, repositories


def is_admin(app, account) -> bool:
    with app.app_context():
        return repositories().users.get(account.user.id).is_platform_admin


def test_grant_admin_makes_an_account_a_platform_administrator(app, user, run_command):
    result = run_command("grant-admin", user.email.upper())

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{user.email.upper()} is now a platform administrator."
    assert is_admin(app, user) is True


def test_revoke_admin_takes_it_away_again(app, make_user, run_command):
    admin = make_user(platform_admin=True)

    result = run_command("revoke-admin", admin.email)

    assert result.exit_code == 0, result.output
    assert "is no longer a platform administrator" in result.output
    assert is_admin(app, admin) is False


@pytest.mark.parametrize("command", ["grant-admin", "revoke-admin"])
def test_an_unknown_email_fails_with_a_clear_message_and_changes_nothing(app, user, run_command, command):
    result = run_command(command, "ghost@example.com")

    assert result.exit_code != 0
    assert "Error: No account uses ghost@example.com." in result.output
    assert is_admin(app, user) is False


def test_grant_admin_needs_an_email(run_command):
    result = run_command("grant-admin")

    assert result.exit_code == 2
    assert "Missing argument 'EMAIL'" in result.output


def test_outbox_shows_the_newest_mail_with_its_link(app, user, run_command):
    with app.app_context():
        auth_service().request_password_reset(user.email, mailer(), password_reset_link_base())

    result = run_command("outbox")

    assert result.exit_code == 0, result.output
    assert user.email in result.output
    assert "Reset your Inkwright password" in result.output
    assert "http://studio.test/reset-password/iwp_" in result.output


def test_outbox_without_bodies_hides_the_links(app, user, run_command):
    with app.app_context():
        auth_service().request_password_reset(user.email, mailer(), password_reset_link_base())

    result = run_command("outbox", "--no-body")

    assert result.exit_code == 0, result.output
    assert "Reset your Inkwright password" in result.output
    assert "iwp_" not in result.output


def test_outbox_limit_shows_only_the_newest(app, make_user, run_command):
    older, newer = make_user(email="older@example.com"), make_user(email="newer@example.com")
    for account in (older, newer):
        with app.app_context():
            auth_service().request_password_reset(account.email, mailer(), password_reset_link_base())

    result = run_command("outbox", "--limit", "1", "--no-body")

    assert "newer@example.com" in result.output
    assert "older@example.com" not in result.output


def test_an_empty_outbox_is_shown_as_an_empty_table(run_command):
    result = run_command("outbox")

    assert result.exit_code == 0, result.output
    assert "Outbox" in result.output
    assert "@" not in result.output


def add_session(app, account, refresh_expires_in: timedelta) -> uuid.UUID:
    now = utcnow()
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            session = repos.auth_sessions.add(AuthSession(
                tenant_id=account.tenant_id, user_id=account.user.id, family_id=uuid.uuid4(),
                access_token_hash=hash_secret(uuid.uuid4().hex), access_expires_at=now,
                refresh_token_hash=hash_secret(uuid.uuid4().hex), refresh_expires_at=now + refresh_expires_in,
            ))
        return session.id


def test_purge_sessions_removes_only_sessions_whose_refresh_token_expired(app, user, run_command):
    stale = [add_session(app, user, timedelta(minutes=-5)) for _ in range(2)]
    live = add_session(app, user, timedelta(days=1))

    result = run_command("purge-sessions")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Removed 2 expired sessions."
    with app.app_context():
        sessions = repositories().auth_sessions
        assert [sessions.get(s) for s in stale] == [None, None]
        assert sessions.get(live) is not None
    assert run_command("purge-sessions").output.strip() == "Removed 0 expired sessions."
