"""Outbound webhooks and their deliveries (seed 003 tables 10 and 11, seed 002's store webhooks).

A webhook belongs to a tenant: a URL, a secret that signs every delivery (stored encrypted
like a provider key, shown once), the event types it hears, and its delivery counters. A
delivery is one event on its way to one webhook: the recorded event's envelope, its status,
and what the last attempt got back. Business rule 5 (seed 003): a webhook is disabled after
10 consecutive failed attempts.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, JSONType, Model, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


#: A pending delivery is tried (again) until it is delivered or out of attempts; both ends are final.
DELIVERY_TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}


class Webhook(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """Where a tenant's events are posted, signed with the webhook's own secret."""

    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: The signing secret as a Fernet token (:class:`app.secrets.SecretBox`); never in clear.
    encrypted_secret: Mapped[str] = mapped_column(Text, nullable=False)
    #: Event types of the catalog (:mod:`app.webhooks.catalog`) this webhook hears.
    events: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
    #: Seed 003's ``project_id``: set, the webhook hears only events that name this project (or a
    #: store: a plugin's own scope) in their payload (``SCOPE_KEYS``); unset, all of the tenant's.
    #: No foreign key: projects and stores are plugins' tables.
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookDelivery(UUIDPrimaryKey, CreatedAt, TenantScoped, Model):
    """One event on its way to one webhook; its id is the ``Inkwright-Delivery`` header, the
    same on every automatic retry, so a receiver can tell a retry from a new delivery."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
        Index("ix_webhook_deliveries_status_next_retry", "status", "next_retry_at"),
    )

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    #: The recorded domain event delivered (``None`` for a test event, which is never recorded).
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    #: The versioned envelope posted: ``{"id", "type", "version", "created_at", "tenant_id", "data"}``.
    event_payload: Mapped[dict] = mapped_column(JSONType, nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "webhook_delivery_status"), nullable=False, default=DeliveryStatus.PENDING)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The start of what the receiver answered (at most ``RESPONSE_BODY_KEPT`` characters).
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_time_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The attempt made last (or, while pending with ``next_retry_at``, the one to make next).
    attempt_number: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The delivery this one repeats (a person's "redeliver").
    redelivery_of_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
