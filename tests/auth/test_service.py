"""app/auth/service.py: the account rules — register, authenticate, sessions, password reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.auth.tokens import hash_secret
from app.errors import ConflictError, ForbiddenError, RateLimitedError, UnauthorizedError, ValidationError
from app.models import AuthSession, DomainEventRecord, Membership, OutboxMessage, Role, Tenant, TenantKind, User, utcnow
from app.runtime import auth_service, mailer, password_reset_link_base, repositories

ADDRESS = "198.51.100.7"
PASSWORD = "a long enough password"


def update_user(app, user_id, **values) -> None:
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            row = repos.users.get(user_id)
            for name, value in values.items():
                setattr(row, name, value)
            repos.session.flush()


def open_session(app, account) -> tuple:
    """Sign the account in for the API; return the session id and its two tokens."""
    with app.app_context():
        issued = auth_service().open_session(repositories().users.get(account.user.id), ip_address=ADDRESS)
        return issued.session.id, issued.access_token, issued.refresh_token


def session_row(app, session_id) -> AuthSession:
    with app.app_context():
        return repositories().auth_sessions.get(session_id)


def request_reset(app, email: str) -> str | None:
    """Ask for a reset link; return the secret mailed in it, if any mail was written."""
    with app.app_context():
        auth_service().request_password_reset(email, mailer(), password_reset_link_base())
        message = repositories().outbox.latest_to(email, "password_reset")
    return message and re.search(r"/reset-password/(iwp_\S+)", message.body).group(1)


# Registration -----------------------------------------------------------------------


def test_register_creates_the_user_a_personal_tenant_an_owner_membership_and_two_events(app):
    with app.app_context():
        user = auth_service().register("  New.Writer@Example.com ", PASSWORD, "Nell")
        user_id = user.id

    with app.app_context():
        repos = repositories()
        stored = repos.users.get(user_id)
        [(tenant, role)] = repos.tenants.for_user(user_id)
        events = repos.for_tenant(tenant.id).events.list(order_by=[DomainEventRecord.type])
    assert stored.email == "new.writer@example.com"
    assert PASSWORD not in stored.password_hash
    assert (tenant.name, tenant.kind, role) == ("Nell's studio", TenantKind.PERSONAL, Role.OWNER)
    assert [(e.type, e.actor_user_id) for e in events] == [("tenant.created", user_id), ("user.registered", user_id)]
    assert events[1].payload == {"userId": str(user_id), "email": "new.writer@example.com"}


def test_people_with_the_same_name_get_different_tenant_slugs(app, make_user):
    first, second = make_user(name="Ada Writer"), make_user(name="Ada Writer")

    with app.app_context():
        tenants = repositories().tenants
        slugs = [tenants.get(account.tenant_id).slug for account in (first, second)]
    assert slugs[0] != slugs[1]
    assert all(slug.startswith("ada-writer") for slug in slugs)


def test_without_a_name_the_tenant_is_named_after_the_email(app, make_user):
    account = make_user(email="quill@example.com")

    with app.app_context():
        assert repositories().tenants.get(account.tenant_id).name == "quill's studio"


@pytest.mark.parametrize("password, problem", [
    ("short", "Use at least 10 characters."),
    (" padded password ", "Do not start or end with spaces."),
    ("x" * 1025, "Use at most 1024 characters."),
])
def test_a_weak_password_is_refused_and_nothing_is_written(app, row_count, password, problem):
    with app.app_context(), pytest.raises(ValidationError) as raised:
        auth_service().register("weak@example.com", password)

    assert problem in raised.value.details["fields"]["password"]
    assert row_count(User) == row_count(Tenant) == 0


def test_an_email_already_registered_is_a_conflict_and_nothing_is_written(app, user, row_count):
    with app.app_context(), pytest.raises(ConflictError) as raised:
        auth_service().register(user.email.upper(), PASSWORD, "Copycat")

    assert raised.value.details == {"fields": {"email": ["Already registered."]}}
    assert (row_count(User), row_count(Tenant), row_count(Membership)) == (1, 1, 1)


def test_registration_can_be_closed(make_app, row_count):
    app = make_app(PUBLIC_REGISTRATION=False)

    with app.app_context(), pytest.raises(ForbiddenError):
        auth_service().register("late@example.com", PASSWORD)
    assert row_count(User) == 0


# Authentication ---------------------------------------------------------------------


def test_authenticate_returns_the_user_and_stamps_the_sign_in(app, user):
    update_user(app, user.user.id, last_login_at=utcnow() - timedelta(days=2))

    with app.app_context():
        signed_in = auth_service().authenticate(user.email.upper(), user.password, ADDRESS)
        assert signed_in.id == user.user.id
        assert utcnow() - signed_in.last_login_at < timedelta(seconds=30)


@pytest.mark.parametrize("case", ["wrong password", "disabled account", "deleted account"])
def test_wrong_password_disabled_or_deleted_accounts_get_the_same_refusal(app, user, case):
    password = "not the password" if case == "wrong password" else user.password
    if case == "disabled account":
        update_user(app, user.user.id, is_active=False)
    elif case == "deleted account":
        update_user(app, user.user.id, deleted_at=utcnow())

    with app.app_context(), pytest.raises(UnauthorizedError) as raised:
        auth_service().authenticate(user.email, password, ADDRESS)
    assert raised.value.message == "The email or password is not right."
    assert raised.value.details == {"reason": "bad_credentials"}


def test_an_unknown_email_gets_the_same_refusal(app):
    with app.app_context(), pytest.raises(UnauthorizedError) as raised:
        auth_service().authenticate("ghost@example.com", PASSWORD, ADDRESS)
    assert raised.value.details == {"reason": "bad_credentials"}


def test_too_many_attempts_are_refused_even_with_the_right_password(make_app, make_user):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    account = make_user()
    with app.app_context():
        service = auth_service()
        for _ in range(3):
            with pytest.raises(UnauthorizedError):
                service.authenticate(account.email, "not the password", ADDRESS)
        with pytest.raises(RateLimitedError):
            service.authenticate(account.email, account.password, "192.0.2.44")


def test_a_successful_sign_in_clears_the_accounts_failures(make_app, make_user):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    account = make_user()
    with app.app_context():
        service = auth_service()
        for address in ("192.0.2.1", "192.0.2.2"):
            with pytest.raises(UnauthorizedError):
                service.authenticate(account.email, "not the password", address)
        service.authenticate(account.email, account.password, "192.0.2.3")
        for address in ("192.0.2.4", "192.0.2.5", "192.0.2.6"):
            service.authenticate(account.email, account.password, address)


# Sessions ---------------------------------------------------------------------------


def test_a_session_stores_only_hashes_of_its_tokens(app, user):
    session_id, access, refresh = open_session(app, user)

    row = session_row(app, session_id)
    assert access.startswith("iwa_") and refresh.startswith("iwr_")
    assert row.access_token_hash == hash_secret(access)
    assert row.refresh_token_hash == hash_secret(refresh)
    assert row.tenant_id == user.tenant_id
    assert timedelta(minutes=14) < row.access_expires_at - utcnow() <= timedelta(minutes=15)


def test_refresh_rotates_the_pair_within_one_family(app, user):
    first_id, _access, first_refresh = open_session(app, user)

    with app.app_context():
        second = auth_service().refresh(first_refresh)
        second_id = second.session.id

    old, new = session_row(app, first_id), session_row(app, second_id)
    assert (old.revoked_reason, old.rotated_at is not None) == ("rotated", True)
    assert new.family_id == old.family_id and new.revoked_at is None
    assert second.refresh_token != first_refresh


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(app, user):
    _first_id, _access, first_refresh = open_session(app, user)
    with app.app_context():
        second = auth_service().refresh(first_refresh)
        second_id = second.session.id

    with app.app_context(), pytest.raises(UnauthorizedError) as raised:
        auth_service().refresh(first_refresh)

    assert raised.value.details == {"reason": "token_reused"}
    assert session_row(app, second_id).revoked_reason == "refresh_token_reused"
    with app.app_context(), pytest.raises(UnauthorizedError) as raised:
        auth_service().refresh(second.refresh_token)
    assert raised.value.details == {"reason": "revoked"}


@pytest.mark.parametrize("damage, reason", [
    ("unknown", "invalid_token"), ("logout", "revoked"), ("expire", "expired"), ("disable", "account_disabled"),
])
def test_refresh_refuses_bad_tokens_with_a_reason(app, user, damage, reason):
    session_id, _access, token = open_session(app, user)
    with app.app_context():
        repos = repositories()
        row = repos.auth_sessions.get(session_id)
        if damage == "unknown":
            token = "iwr_never-issued"
        elif damage == "logout":
            auth_service().logout(row)
        elif damage == "expire":
            with repos.transaction():
                row.refresh_expires_at = utcnow() - timedelta(seconds=1)
    if damage == "disable":
        update_user(app, user.user.id, is_active=False)

    with app.app_context(), pytest.raises(UnauthorizedError) as raised:
        auth_service().refresh(token)
    assert raised.value.details == {"reason": reason}


# Password reset ---------------------------------------------------------------------


def test_a_new_reset_link_voids_the_older_ones(app, user):
    older, newer = request_reset(app, user.email), request_reset(app, user.email)

    with app.app_context():
        service = auth_service()
        with pytest.raises(ValidationError):
            service.check_reset_token(older)
        assert service.check_reset_token(newer).user_id == user.user.id


def test_resetting_sets_the_password_spends_the_link_and_signs_out_every_session(app, user):
    session_id, _access, _refresh = open_session(app, user)
    secret = request_reset(app, user.email)

    with app.app_context():
        auth_service().reset_password(secret, "a brand new passphrase")

    assert session_row(app, session_id).revoked_reason == "password_reset"
    with app.app_context():
        service = auth_service()
        assert service.authenticate(user.email, "a brand new passphrase", ADDRESS).id == user.user.id
        with pytest.raises(UnauthorizedError):
            service.authenticate(user.email, user.password, ADDRESS)
        with pytest.raises(ValidationError):
            service.reset_password(secret, "yet another passphrase")


def test_a_reset_for_an_unknown_email_writes_no_mail(app, row_count):
    assert request_reset(app, "ghost@example.com") is None
    assert row_count(OutboxMessage) == 0


def test_an_expired_reset_link_is_refused(app, user):
    secret = request_reset(app, user.email)
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.password_resets.find_by_hash(hash_secret(secret)).expires_at = utcnow() - timedelta(seconds=1)

    with app.app_context(), pytest.raises(ValidationError) as raised:
        auth_service().reset_password(secret, "a brand new passphrase")
    assert raised.value.details == {"fields": {"token": ["Invalid, used or expired."]}}
