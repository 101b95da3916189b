"""Lookups of presented secrets, which happen before any tenant is known.

A caller proves possession of a token by presenting it; we find it by its SHA-256 hash
only. Managing API keys (list, revoke) is tenant-scoped and lives in ``api_keys``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update

from ..models import ApiKey, AuthSession, PasswordResetToken, utcnow
from .base import Repository, SystemRepository, operation


class AuthSessionRepository(SystemRepository[AuthSession]):
    """API sign-in sessions (seed 000's SessionRepository).

    System scope: a session is found by the hash of the token a caller presents, before any
    tenant is known (the session names the tenant it acts in); revoking a person's sessions,
    or a refresh family, and sweeping expired ones span every tenant they act in.
    """

    model = AuthSession

    @operation
    def find_by_access_hash(self, token_hash: str) -> AuthSession | None:
        return self.session.scalars(self.select(AuthSession.access_token_hash == token_hash)).first()

    @operation
    def find_by_refresh_hash(self, token_hash: str) -> AuthSession | None:
        return self.session.scalars(self.select(AuthSession.refresh_token_hash == token_hash)).first()

    @operation
    def revoke_family(self, family_id: uuid.UUID, reason: str) -> int:
        result = self.session.execute(
            update(AuthSession)
            .where(AuthSession.family_id == family_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
        return result.rowcount

    @operation
    def revoke_user(self, user_id: uuid.UUID, reason: str) -> int:
        result = self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )
        return result.rowcount

    @operation
    def delete_expired(self, now: datetime | None = None) -> int:
        """Remove sessions whose refresh token has lapsed (seed 000's ``cleanup()``)."""
        now = now or utcnow()
        stale = self.list(AuthSession.refresh_expires_at < now)
        for row in stale:
            self.session.delete(row)
        self.session.flush()
        return len(stale)


class ApiKeyLookupRepository(SystemRepository[ApiKey]):
    """API keys by the hash of a presented secret.

    System scope: the key is what tells which tenant the caller acts in, so it is found
    before any tenant is known; managing keys is tenant-scoped (``api_keys.py``).
    """

    model = ApiKey

    @operation
    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.session.scalars(self.select(ApiKey.key_hash == key_hash)).first()


class PasswordResetRepository(Repository[PasswordResetToken]):
    model = PasswordResetToken

    @operation
    def find_by_hash(self, token_hash: str) -> PasswordResetToken | None:
        return self.session.scalars(self.select(PasswordResetToken.token_hash == token_hash)).first()

    @operation
    def void_for_user(self, user_id: uuid.UUID) -> None:
        """Spend every outstanding token of a user, so only the newest link works."""
        self.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=utcnow())
        )
