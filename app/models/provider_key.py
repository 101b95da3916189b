"""Bring-your-own-key: a user's or a tenant's own provider key, encrypted at rest (seed 003).

The plain key is never stored, logged or returned; people see ``key_hint`` (its last four
characters). Calls made with it draw no platform credits and are logged as BYOK.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import IllegalTransitionError
from .base import Model, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class ProviderKeyStatus(str, enum.Enum):
    ACTIVE = "active"
    REJECTED = "rejected"  # the provider refused it (401/403): not used again until replaced
    REVOKED = "revoked"


PROVIDER_KEY_TRANSITIONS = {
    ProviderKeyStatus.ACTIVE: {ProviderKeyStatus.REJECTED, ProviderKeyStatus.REVOKED},
    ProviderKeyStatus.REJECTED: {ProviderKeyStatus.REVOKED},
    ProviderKeyStatus.REVOKED: set(),
}


class ProviderKey(UUIDPrimaryKey, Timestamps, Model):
    """Owned by exactly one of a user or a tenant."""

    __tablename__ = "provider_keys"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (tenant_id IS NULL)", name="one_owner"),
        Index("ix_provider_keys_owner", "user_id", "tenant_id", "provider"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"),
                                                      nullable=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"),
                                                        nullable=True)
    provider: Mapped[str] = mapped_column(String(50), nullable=False)
    label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    encrypted_key: Mapped[str] = mapped_column(Text, nullable=False)
    key_hint: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[ProviderKeyStatus] = mapped_column(enum_column(ProviderKeyStatus, "provider_key_status"),
                                                      nullable=False, default=ProviderKeyStatus.ACTIVE)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rejected_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @property
    def masked(self) -> str:
        return f"…{self.key_hint}"

    def move_to(self, status: ProviderKeyStatus) -> None:
        if status not in PROVIDER_KEY_TRANSITIONS[self.status]:
            raise IllegalTransitionError("ProviderKey", self.status.value, status.value)
        self.status = status
