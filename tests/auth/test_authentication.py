"""app/auth/authentication.py: an Authorization header value becomes a Principal, or a 401."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.api_keys import ApiKeyService
from app.auth.authentication import principal_from_bearer
from app.auth.principal import Principal
from app.errors import ForbiddenError, UnauthorizedError
from app.models import ApiKeyStatus, Membership, Role, utcnow
from app.runtime import auth_service, repositories


def sign_in(app, account) -> tuple:
    """Open an API session; return its id and access token."""
    with app.app_context():
        issued = auth_service().open_session(repositories().users.get(account.user.id))
        return issued.session.id, issued.access_token


def create_key(app, account, role: Role = Role.MEMBER, expires_in_days: int | None = None) -> tuple:
    """Issue an API key in the account's personal tenant; return its id and secret."""
    with app.app_context():
        repos = repositories()
        owner = Principal(repos.users.get(account.user.id), account.tenant_id, Role.OWNER, "token")
        issued = ApiKeyService(repos.for_tenant(account.tenant_id), owner).create("ci", role, expires_in_days)
        return issued.key.id, issued.secret


def resolve(app, authorization: str, tenant_header: str | None = None) -> tuple:
    """Resolve the header; return what a view would use of the principal."""
    with app.app_context():
        principal = principal_from_bearer(repositories(), authorization, tenant_header)
        return principal.via, principal.tenant_id, principal.role, principal.user_id


def refusal(app, authorization: str, tenant_header: str | None = None, error=UnauthorizedError) -> dict:
    with pytest.raises(error) as raised:
        resolve(app, authorization, tenant_header)
    return raised.value.details


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token iwa_abc", "iwa_abc"])
def test_a_malformed_header_is_refused(app, header):
    assert refusal(app, header) == {"reason": "malformed_header"}


@pytest.mark.parametrize("credential", ["abc123", "iwr_refresh-tokens-are-not-bearers", "iwp_reset", "IWA_upper"])
def test_a_credential_with_an_unknown_prefix_is_refused(app, credential):
    assert refusal(app, f"Bearer {credential}") == {"reason": "invalid_token"}


def test_an_access_token_gives_the_owner_of_the_personal_tenant(app, user):
    _session_id, token = sign_in(app, user)

    assert resolve(app, f"Bearer {token}") == ("token", user.tenant_id, Role.OWNER, user.user.id)
    assert resolve(app, f"  bearer   {token} ")[0] == "token"  # the scheme is case-insensitive


def test_an_unknown_access_token_is_refused(app):
    assert refusal(app, "Bearer iwa_never-issued") == {"reason": "invalid_token"}


def test_using_an_access_token_stamps_its_session(app, user):
    session_id, token = sign_in(app, user)

    resolve(app, f"Bearer {token}")

    with app.app_context():
        assert repositories().auth_sessions.get(session_id).last_used_at is not None


@pytest.mark.parametrize("damage, reason", [
    ("logout", "revoked"), ("expire", "expired"), ("disable", "account_disabled"), ("delete", "account_disabled"),
])
def test_a_signed_out_expired_or_disabled_session_is_refused(app, user, damage, reason):
    session_id, token = sign_in(app, user)
    with app.app_context():
        repos = repositories()
        session = repos.auth_sessions.get(session_id)
        if damage == "logout":
            auth_service().logout(session)
        with repos.transaction():
            if damage == "expire":
                session.access_expires_at = utcnow() - timedelta(seconds=1)
            elif damage == "disable":
                repos.users.get(user.user.id).is_active = False
            elif damage == "delete":
                repos.users.get(user.user.id).deleted_at = utcnow()

    assert refusal(app, f"Bearer {token}") == {"reason": reason}


def test_x_tenant_id_switches_to_another_tenant_the_user_belongs_to(app, two_people):
    ada, bob = two_people
    with app.app_context():
        scoped = repositories().for_tenant(bob.tenant_id)
        with scoped.transaction():
            scoped.memberships.add(Membership(user_id=ada.user.id, role=Role.VIEWER))
    _session_id, token = sign_in(app, ada)

    assert resolve(app, f"Bearer {token}", str(bob.tenant_id))[1:3] == (bob.tenant_id, Role.VIEWER)


@pytest.mark.parametrize("which", ["stranger", "garbage"])
def test_x_tenant_id_of_a_tenant_the_user_is_not_in_is_forbidden(app, two_people, which):
    ada, bob = two_people
    _session_id, token = sign_in(app, ada)
    header = str(bob.tenant_id) if which == "stranger" else "not-a-uuid"

    assert refusal(app, f"Bearer {token}", header, ForbiddenError) == {"tenantId": header}


def test_an_api_key_acts_in_its_tenant_with_its_own_role(app, user):
    key_id, secret = create_key(app, user, Role.VIEWER)

    assert resolve(app, f"Bearer {secret}") == ("api_key", user.tenant_id, Role.VIEWER, user.user.id)
    assert resolve(app, f"Bearer {secret}", str(user.tenant_id))[0] == "api_key"
    with app.app_context():
        assert repositories().for_tenant(user.tenant_id).api_keys.get(key_id).last_used_at is not None


def test_an_unknown_api_key_is_refused(app):
    assert refusal(app, "Bearer iwk_never-issued") == {"reason": "invalid_key"}


def test_a_revoked_api_key_is_refused(app, user):
    key_id, secret = create_key(app, user)
    with app.app_context():
        repos = repositories()
        owner = Principal(repos.users.get(user.user.id), user.tenant_id, Role.OWNER, "token")
        ApiKeyService(repos.for_tenant(user.tenant_id), owner).revoke(key_id)

    assert refusal(app, f"Bearer {secret}") == {"reason": "revoked"}


def test_an_api_key_past_its_expiry_is_refused_and_marked_expired(app, user):
    key_id, secret = create_key(app, user, expires_in_days=1)
    with app.app_context():
        scoped = repositories().for_tenant(user.tenant_id)
        with scoped.transaction():
            scoped.api_keys.get(key_id).expires_at = utcnow() - timedelta(seconds=1)

    assert refusal(app, f"Bearer {secret}") == {"reason": "expired"}
    with app.app_context():
        assert repositories().for_tenant(user.tenant_id).api_keys.get(key_id).status == ApiKeyStatus.EXPIRED


def test_an_api_key_works_only_in_its_own_tenant(app, two_people):
    ada, bob = two_people
    _key_id, secret = create_key(app, ada)

    assert refusal(app, f"Bearer {secret}", str(bob.tenant_id), ForbiddenError) == {"tenantId": str(bob.tenant_id)}


def test_an_api_key_of_a_deleted_tenant_is_refused_at_once(app, user):
    _key_id, secret = create_key(app, user)
    resolve(app, f"Bearer {secret}")  # the tenant's info is now cached
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.tenants.delete(repos.tenants.get(user.tenant_id))

    assert refusal(app, f"Bearer {secret}") == {"reason": "tenant_deleted"}


def test_an_api_key_is_checked_in_one_statement_and_its_creator_loaded_only_when_asked(app, user):
    from sqlalchemy import event

    from app.extensions import db

    _key_id, secret = create_key(app, user)
    resolve(app, f"Bearer {secret}")  # the first use stamps last_used_at; later ones within a minute don't
    with app.app_context():
        seen: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
        principal = principal_from_bearer(repositories(), f"Bearer {secret}", None)
        checked = len(seen)
        assert principal.user.email == user.user.email  # the account, loaded now
        assert (checked, len(seen)) == (1, 2)
        with pytest.raises(AttributeError):
            principal.role = Role.OWNER  # a principal does not change


def test_an_api_key_whose_creator_was_deleted_acts_for_nobody(app, user):
    _key_id, secret = create_key(app, user)
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.users.delete(repos.users.get(user.user.id))

    assert resolve(app, f"Bearer {secret}") == ("api_key", user.tenant_id, Role.MEMBER, None)
    with app.app_context():
        assert principal_from_bearer(repositories(), f"Bearer {secret}", None).user is None
