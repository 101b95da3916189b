"""Creating and revoking a tenant's API keys (seed 002)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import audit
from ..errors import ForbiddenError
from ..events import DomainEvent
from ..models import ApiKey, ApiKeyStatus, Role, utcnow
from ..repositories import Repositories
from .principal import Principal
from .tokens import API_KEY_PREFIX, display_prefix, hash_secret, new_secret

#: The role of a key made without one: most keys are a script's, which needs to run
#: workflows, not to manage the tenant's members and keys (issue 11).
DEFAULT_ROLE = Role.MEMBER


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


class ApiKeyService:
    """Keys are scoped to the caller's tenant and can do no more than their creator."""

    def __init__(self, repos: Repositories, principal: Principal) -> None:
        self.repos = repos
        self.principal = principal

    def list(self) -> list[ApiKey]:
        self.principal.require("api_keys", "read")
        with self.repos.transaction():
            self.repos.api_keys.expire_lapsed()
        return self.repos.api_keys.list(order_by=[ApiKey.created_at.desc()])

    def get(self, key_id: Any) -> ApiKey:
        self.principal.require("api_keys", "read")
        return self.repos.api_keys.require(key_id)

    def create(self, name: str, role: Role | None = None, expires_in_days: int | None = None) -> IssuedKey:
        """Issue a key; its secret is returned here once and never stored in clear.

        :param role: the key's role, :data:`DEFAULT_ROLE` when ``None``. An owner may issue
            any role, an admin admin and below, anyone else at most their own.
        :raises ForbiddenError: when asking for a role stronger than the caller's.
        """
        self.principal.require("api_keys", "create")
        # By default a key of the default role, or of the caller's own where that is weaker
        # (a guest's key for git is a guest's key).
        role = role or (DEFAULT_ROLE if self.principal.role.at_least(DEFAULT_ROLE) else self.principal.role)
        if not self.principal.role.at_least(role):
            raise ForbiddenError(f"You cannot create a key with more rights ({role.value}) than your own.",
                                 {"fields": {"role": [f"At most {self.principal.role.value}."]}})
        secret = new_secret(API_KEY_PREFIX)
        expires_at: datetime | None = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        with self.repos.transaction() as tx:
            key = self.repos.api_keys.add(ApiKey(
                name=name.strip(), prefix=display_prefix(secret), key_hash=hash_secret(secret), role=role,
                created_by_user_id=self.principal.user_id, expires_at=expires_at,
            ))
            tx.publish(DomainEvent("api_key.created", str(key.id), {"apiKeyId": str(key.id), "name": key.name},
                                   tenant_id=key.tenant_id, actor_id=self.principal.user_id))
            audit.record(self.repos, "api_key.create", "api_key", key.id, actor_id=self.principal.user_id,
                         metadata={"name": key.name, "role": key.role, "prefix": key.prefix,
                                   "expires_at": key.expires_at})
        return IssuedKey(key, secret)

    def revoke(self, key_id: Any) -> ApiKey:
        """Revoke a key; requests carrying it fail from now on.

        :raises NotFoundError: for a key not in the caller's tenant.
        :raises IllegalTransitionError: for a key already revoked or expired.
        """
        self.principal.require("api_keys", "revoke")
        key = self.repos.api_keys.require(key_id)
        with self.repos.transaction() as tx:
            key.move_to(ApiKeyStatus.REVOKED)
            key.revoked_at = utcnow()
            self.repos.api_keys.save(key)
            tx.publish(DomainEvent("api_key.revoked", str(key.id), {"apiKeyId": str(key.id)},
                                   tenant_id=key.tenant_id, actor_id=self.principal.user_id))
            audit.record(self.repos, "api_key.revoke", "api_key", key.id, actor_id=self.principal.user_id,
                         changes={"status": {"before": "active", "after": key.status}},
                         metadata={"name": key.name, "prefix": key.prefix})
        return key
