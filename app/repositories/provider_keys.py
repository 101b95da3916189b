"""Bring-your-own provider keys (seed 003's BYOK), a user's or a tenant's, encrypted at rest.

Rows are global (an owner is a user or a tenant), so the owner is never implied by a scope:
every method takes it explicitly and never hands back another owner's key. The plain key
exists only on its way in (:meth:`ProviderKeyRepository.add` encrypts it) and in the
metering layer, which decrypts the ciphertext of :meth:`ProviderKeyRepository.usable_key`
for the one call it makes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import case, literal, or_

from ..models import ProviderKey, ProviderKeyStatus, utcnow
from ..secrets import SecretBox
from .base import SystemRepository, as_uuid, operation

KEYS = ProviderKey.__table__

#: People see this many trailing characters of a key (``…abcd``), never more.
HINT_LENGTH = 4
#: ``last_used_at`` is written at most this often: a busy key would otherwise cost a write per call.
_TOUCH_INTERVAL = timedelta(seconds=60)
_REASON_LENGTH = 500


class ProviderKeyRepository(SystemRepository[ProviderKey]):
    """A user's or a tenant's provider keys.

    System scope: a key belongs to a person (and follows them into every tenant) or to one
    tenant, so its owner is never implied by a scope: every method names the owner it reads,
    and key rotation re-encrypts every owner's keys.
    """

    model = ProviderKey

    @operation
    def add(self, *, provider: str, secret: str, box: SecretBox, user_id: Any = None, tenant_id: Any = None,
            label: str | None = None, created_by_user_id: Any = None) -> ProviderKey:  # type: ignore[override]
        """Store a key for exactly one owner, encrypted with the newest key of ``box``.

        The only way in for a key: there is no way to store one unencrypted.

        :param provider: the provider's entry-point name (``openai``).
        :param secret: the key in clear; it is not kept anywhere but in the ciphertext.
        :param box: the app's :class:`~app.secrets.SecretBox`.
        :param user_id: the owning user, or
        :param tenant_id: the owning tenant (exactly one of the two).
        :param label: a name people tell keys apart by.
        :param created_by_user_id: who added it (for a tenant's key).
        :returns: the stored key.
        :raises ValueError: unless exactly one owner is given.
        """
        user_key, tenant_key = as_uuid(user_id), as_uuid(tenant_id)
        if (user_key is None) == (tenant_key is None):
            raise ValueError("a provider key belongs to exactly one of a user or a tenant")
        key = ProviderKey(user_id=user_key, tenant_id=tenant_key, provider=provider, label=label,
                          encrypted_key=box.encrypt(secret), key_hint=secret[-HINT_LENGTH:],
                          status=ProviderKeyStatus.ACTIVE, created_by_user_id=as_uuid(created_by_user_id))
        self.session.add(key)
        self.session.flush()
        return key

    @operation
    def for_user(self, user_id: Any) -> list[ProviderKey]:
        """Every key of a user, whatever its status, newest first."""
        return self._owned(ProviderKey.user_id == as_uuid(user_id)) if as_uuid(user_id) else []

    @operation
    def for_tenant(self, tenant_id: Any) -> list[ProviderKey]:
        """Every key of a tenant, whatever its status, newest first."""
        return self._owned(ProviderKey.tenant_id == as_uuid(tenant_id)) if as_uuid(tenant_id) else []

    @operation
    def of_user(self, key_id: Any, user_id: Any) -> ProviderKey | None:
        """One key, if it is this user's own (``None`` for any other owner's)."""
        key, owner = as_uuid(key_id), as_uuid(user_id)
        if key is None or owner is None:
            return None
        return self.first(ProviderKey.id == key, ProviderKey.user_id == owner)

    @operation
    def of_tenant(self, key_id: Any, tenant_id: Any) -> ProviderKey | None:
        """One key, if it is this tenant's own (``None`` for any other owner's)."""
        key, owner = as_uuid(key_id), as_uuid(tenant_id)
        if key is None or owner is None:
            return None
        return self.first(ProviderKey.id == key, ProviderKey.tenant_id == owner)

    @operation
    def usable_key(self, provider: str, user_id: Any, tenant_id: Any) -> ProviderKey | None:
        """The key a call to ``provider`` should use: the user's own active key, else the tenant's.

        :param provider: the provider's name.
        :param user_id: the person the call is made for (may be ``None``).
        :param tenant_id: the tenant the call is made in (may be ``None``).
        :returns: the newest active key of the first owner that has one, or ``None``.
        """
        user, tenant = as_uuid(user_id), as_uuid(tenant_id)
        owners = [column == owner for column, owner in ((ProviderKey.user_id, user), (ProviderKey.tenant_id, tenant))
                  if owner is not None]
        if not owners:
            return None
        # One query for both owners (every model call asks): the user's own keys sort first.
        mine_first = case((ProviderKey.user_id == user, 0), else_=1) if user is not None else literal(1)
        return self.session.scalars(
            self.select(or_(*owners), ProviderKey.provider == provider, ProviderKey.status == ProviderKeyStatus.ACTIVE)
            .order_by(mine_first, ProviderKey.created_at.desc(), ProviderKey.id.desc()).limit(1)).first()

    @operation
    def revoke(self, key: ProviderKey) -> ProviderKey:
        """Revoke a key: it is never used again.

        :raises IllegalTransitionError: when it is already revoked.
        """
        key.move_to(ProviderKeyStatus.REVOKED)
        key.revoked_at = utcnow()
        self.session.flush()
        return key

    @operation
    def mark_rejected(self, key_id: Any, reason: str) -> bool:
        """Stop using a key the provider refused (401/403) until its owner replaces it.

        Only an active key moves (a revoked one stays revoked); calling it again is harmless.

        :param reason: what the provider said, without the key.
        :returns: whether the key moved to REJECTED now.
        """
        key = as_uuid(key_id)
        if key is None:
            return False
        moved = self.session.execute(
            KEYS.update().where(KEYS.c.id == key, KEYS.c.status == ProviderKeyStatus.ACTIVE)
            .values(status=ProviderKeyStatus.REJECTED, rejected_reason=(reason or "")[:_REASON_LENGTH] or None,
                    updated_at=utcnow())
        )
        return moved.rowcount == 1

    @operation
    def touch(self, key_id: Any) -> None:
        """Record that a key was just used (at most once a minute is written)."""
        key = as_uuid(key_id)
        if key is None:
            return
        now = utcnow()
        self.session.execute(
            KEYS.update().where(KEYS.c.id == key,
                                or_(KEYS.c.last_used_at.is_(None), KEYS.c.last_used_at < now - _TOUCH_INTERVAL))
            .values(last_used_at=now)
        )

    @operation
    def rotate_all(self, box: SecretBox) -> tuple[int, list[uuid.UUID]]:
        """Re-encrypt every stored key with the newest key of ``box`` (after a key rotation).

        :returns: how many were re-encrypted, and the ids of those no configured key decrypts.
        """
        return self.reencrypt_column(KEYS.c.id, KEYS.c.encrypted_key, box)

    def _owned(self, *criteria: Any, limit: int | None = None) -> list[ProviderKey]:
        return self.list(*criteria, order_by=[ProviderKey.created_at.desc(), ProviderKey.id.desc()], limit=limit)
