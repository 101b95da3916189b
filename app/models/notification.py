"""Notifications: what a person is told in the studio and, by their preferences, by mail
(seed 003 table 9, seed 002's notifications)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, Model, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class NotificationPriority(str, enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Notification(UUIDPrimaryKey, CreatedAt, Model):
    """One message to one person, who sees it in every tenant they sign in to.

    ``origin_tenant_id`` is the tenant it arose in (``None`` for the platform's own, such as
    low credits). It is not a ``tenant_id``: the row belongs to the person, not the tenant,
    and is read by its ``user_id`` alone.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "is_read", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    origin_tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"),
                                                               nullable=True, index=True)
    #: ``agent_complete``, ``low_credits``, ``export_ready``, ``invitation``, ``comment``,
    #: ``webhook_disabled`` or a type a plugin declares.
    type: Mapped[str] = mapped_column(String(50), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    related_entity_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    related_entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_read: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    action_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    action_label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    priority: Mapped[NotificationPriority] = mapped_column(
        enum_column(NotificationPriority, "notification_priority"), nullable=False, default=NotificationPriority.NORMAL)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
