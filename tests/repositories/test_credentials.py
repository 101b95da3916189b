"""app/repositories/credentials.py: finding presented secrets by hash, and revoking them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.auth.tokens import hash_secret
from app.models import AuthSession, PasswordResetToken, utcnow
from app.runtime import repositories


def open_session(app, account, family_id=None, refresh_in=timedelta(days=1)) -> tuple[uuid.UUID, str, str]:
    """Commit an API session for the account; return its id and its two secrets."""
    access, refresh = f"iwa_{uuid.uuid4().hex}", f"iwr_{uuid.uuid4().hex}"
    now = utcnow()
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            session = repos.auth_sessions.add(AuthSession(
                tenant_id=account.tenant_id, user_id=account.user.id, family_id=family_id or uuid.uuid4(),
                access_token_hash=hash_secret(access), access_expires_at=now + timedelta(minutes=15),
                refresh_token_hash=hash_secret(refresh), refresh_expires_at=now + refresh_in,
            ))
        return session.id, access, refresh


def revoked(app, session_id) -> str | None:
    with app.app_context():
        return repositories().auth_sessions.get(session_id).revoked_reason


def test_sessions_are_found_by_the_hash_of_either_token_only(app, user):
    session_id, access, refresh = open_session(app, user)

    with app.app_context():
        sessions = repositories().auth_sessions
        assert sessions.find_by_access_hash(hash_secret(access)).id == session_id
        assert sessions.find_by_refresh_hash(hash_secret(refresh)).id == session_id
        assert sessions.find_by_access_hash(access) is None  # the clear secret is never stored
        assert sessions.find_by_access_hash(hash_secret(refresh)) is None


def test_revoke_family_revokes_only_that_familys_live_sessions(app, user):
    family = uuid.uuid4()
    first, _, _ = open_session(app, user, family)
    second, _, _ = open_session(app, user, family)
    other, _, _ = open_session(app, user)

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            assert repos.auth_sessions.revoke_family(family, "refresh_token_reused") == 2
        with repos.transaction():
            assert repos.auth_sessions.revoke_family(family, "again") == 0  # already revoked

    assert [revoked(app, s) for s in (first, second, other)] == ["refresh_token_reused"] * 2 + [None]


def test_revoke_user_revokes_every_session_of_that_user_only(app, two_tenants):
    ada, bob = two_tenants
    ada_sessions = [open_session(app, ada)[0] for _ in range(2)]
    bob_session, _, _ = open_session(app, bob)

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            assert repos.auth_sessions.revoke_user(ada.user.id, "password_reset") == 2

    assert [revoked(app, s) for s in ada_sessions] == ["password_reset"] * 2
    assert revoked(app, bob_session) is None


def test_delete_expired_removes_only_sessions_whose_refresh_token_lapsed(app, user):
    stale, _, _ = open_session(app, user, refresh_in=timedelta(seconds=-1))
    live, _, _ = open_session(app, user)

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            assert repos.auth_sessions.delete_expired() == 1

    with app.app_context():
        sessions = repositories().auth_sessions
        assert sessions.get(stale) is None
        assert sessions.get(live) is not None


def test_api_keys_are_looked_up_by_hash_whatever_their_tenant(app, two_tenants, new_key):
    ada, bob = two_tenants
    secrets = {}
    with app.app_context():
        repos = repositories()
        for account in (ada, bob):
            scoped = repos.for_tenant(account.tenant_id)
            with scoped.transaction():
                key = scoped.api_keys.add(new_key(name=account.email))
            secrets[account.tenant_id] = key.key_hash

    with app.app_context():
        lookup = repositories().api_key_lookup
        for tenant_id, key_hash in secrets.items():
            assert lookup.find_by_hash(key_hash).tenant_id == tenant_id
        assert lookup.find_by_hash(hash_secret("iwk_unknown")) is None


def test_void_for_user_spends_every_outstanding_reset_token_of_that_user(app, two_tenants):
    ada, bob = two_tenants
    later = utcnow() + timedelta(hours=1)
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            for account, secret in ((ada, "iwp_a1"), (ada, "iwp_a2"), (bob, "iwp_b1")):
                repos.password_resets.add(PasswordResetToken(user_id=account.user.id, token_hash=hash_secret(secret),
                                                             expires_at=later))
        with repos.transaction():
            repos.password_resets.void_for_user(ada.user.id)

    with app.app_context():
        resets = repositories().password_resets
        spent = {secret: resets.find_by_hash(hash_secret(secret)).used_at is not None
                 for secret in ("iwp_a1", "iwp_a2", "iwp_b1")}
    assert spent == {"iwp_a1": True, "iwp_a2": True, "iwp_b1": False}
