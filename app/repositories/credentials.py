"""Lookups of presented secrets, which happen before any tenant is known.

A caller proves possession of a token by presenting it; we find it by its SHA-256 hash
only. Managing API keys (list, revoke) is tenant-scoped and lives in ``api_keys``.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, select, update

from ..models import ApiKey, ApiKeyStatus, AuthSession, PasswordResetToken, Role, Tenant, User, utcnow
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

    @operation
    def credential(self, key_hash: str) -> "PresentedKey | None":
        """What authenticating a key needs, in one statement: the key, whether its tenant
        still exists and whether its creator's account does (every API request asks this, so
        it is a plain row rather than three ORM loads)."""
        row = self.session.connection().execute(_presented_key(), {"key_hash": key_hash}).first()
        if row is None:
            return None
        return PresentedKey(row.id, row.tenant_id, row.role, row.status, row.expires_at, row.last_used_at,
                            tenant_exists=row.live_tenant_id is not None, creator_id=row.live_creator_id)

    @operation
    def touch(self, key_id: uuid.UUID, now: datetime) -> None:
        """Record that the key was used (callers do it at most once a minute)."""
        self.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


@dataclass(frozen=True)
class PresentedKey:
    """An API key as authentication sees it (see :meth:`ApiKeyLookupRepository.credential`)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    role: Role
    status: ApiKeyStatus
    expires_at: datetime | None
    last_used_at: datetime | None
    tenant_exists: bool
    creator_id: uuid.UUID | None


@functools.cache
def _presented_key() -> Select:
    # Built once: making the statement costs more than running it (statements.py says why).
    return (
        select(ApiKey.id, ApiKey.tenant_id, ApiKey.role, ApiKey.status, ApiKey.expires_at,
               ApiKey.last_used_at, Tenant.id.label("live_tenant_id"), User.id.label("live_creator_id"))
        .outerjoin(Tenant, and_(Tenant.id == ApiKey.tenant_id, Tenant.deleted_at.is_(None)))
        .outerjoin(User, and_(User.id == ApiKey.created_by_user_id, User.deleted_at.is_(None)))
        .where(ApiKey.key_hash == bindparam("key_hash"))
    )


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
