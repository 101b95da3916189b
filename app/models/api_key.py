"""Tenant API keys (seed 002's ApiKey with ACTIVE / REVOKED / EXPIRED)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import IllegalTransitionError
from .base import Model, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import Role, enum_column


class ApiKeyStatus(str, enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


#: The only status changes an API key may make; both ends are final.
API_KEY_TRANSITIONS: dict[ApiKeyStatus, frozenset[ApiKeyStatus]] = {
    ApiKeyStatus.ACTIVE: frozenset({ApiKeyStatus.REVOKED, ApiKeyStatus.EXPIRED}),
    ApiKeyStatus.REVOKED: frozenset(),
    ApiKeyStatus.EXPIRED: frozenset(),
}


class ApiKey(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """A key a program sends as ``Authorization: Bearer``; shown once, stored hashed."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "api_key_role"), nullable=False)
    status: Mapped[ApiKeyStatus] = mapped_column(
        enum_column(ApiKeyStatus, "api_key_status"), nullable=False, default=ApiKeyStatus.ACTIVE
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def move_to(self, status: ApiKeyStatus) -> None:
        """Change status through the transition table.

        :raises IllegalTransitionError: for a move the table does not allow.
        """
        if status not in API_KEY_TRANSITIONS[self.status]:
            raise IllegalTransitionError("ApiKey", self.status.value, status.value)
        self.status = status
