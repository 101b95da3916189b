"""A tenant's webhooks and their deliveries (seed 003 tables 10-11).

Delivery counters move by SQL increments, not read-modify-write, because a threads worker
delivers several events to one webhook at once; a delivery's outcome is written only while
it is still at the attempt the worker made, so a duplicated job cannot record twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select

from ..models import DeliveryStatus, Webhook, WebhookDelivery
from ..secrets import SecretBox
from .base import ScopedRepository, SystemRepository, as_uuid, operation


class WebhookRepository(ScopedRepository[Webhook]):
    model = Webhook

    @operation
    def newest_first(self) -> list[Webhook]:
        return self.list(order_by=[Webhook.created_at.desc(), Webhook.id.desc()])

    @operation
    def subscribed_to(self, event_type: str, payload: dict | None = None) -> list[Webhook]:
        """The tenant's active webhooks that hear ``event_type`` (filtered here: a JSON list
        has no portable ``contains`` on SQLite and PostgreSQL alike, and a tenant has few); a
        webhook scoped to a project hears it only when ``payload`` names that project."""
        named = scopes_named(payload)
        return [hook for hook in self.list(Webhook.is_active.is_(True), order_by=[Webhook.created_at])
                if event_type in (hook.events or []) and (hook.project_id is None or str(hook.project_id) in named)]

    @operation
    def count_attempt(self, webhook_id: uuid.UUID, *, delivered: bool, status_code: int | None,
                      now: datetime) -> int:
        """Add one attempt to the webhook's counters.

        :returns: its consecutive failures after this attempt (0 when it was delivered).
        """
        statement = self.update_where(Webhook.id == webhook_id).values(
            total_deliveries=Webhook.total_deliveries + 1,
            failed_deliveries=Webhook.failed_deliveries + (0 if delivered else 1),
            consecutive_failures=0 if delivered else Webhook.consecutive_failures + 1,
            last_delivery_at=now, last_status_code=status_code, updated_at=now,
        ).execution_options(synchronize_session=False)
        if self.session.connection().dialect.update_returning:  # PostgreSQL, SQLite 3.35+: one round trip
            return int(self.session.scalar(statement.returning(Webhook.consecutive_failures)) or 0)
        self.session.execute(statement)
        # Read back in the same transaction: the UPDATE holds the row until the commit.
        return int(self.session.scalar(self.core_select(Webhook.consecutive_failures).where(
            Webhook.id == webhook_id)) or 0)

    @operation
    def disable(self, webhook_id: uuid.UUID, now: datetime) -> bool:
        """Switch the webhook off (business rule 5).

        :returns: whether this call did it (``False`` when it was already off), so exactly
            one caller tells the owner.
        """
        moved = self.session.execute(self.update_where(
            Webhook.id == webhook_id, Webhook.is_active.is_(True)).values(
            is_active=False, disabled_at=now, updated_at=now).execution_options(synchronize_session=False))
        return moved.rowcount == 1


class WebhookDeliveryRepository(ScopedRepository[WebhookDelivery]):
    model = WebhookDelivery

    @operation
    def with_webhook(self, delivery_id: Any) -> tuple[WebhookDelivery, Webhook] | None:
        """A delivery and its webhook in one query (each attempt starts with both)."""
        key = as_uuid(delivery_id)
        if key is None:
            return None
        statement = self._scope(select(WebhookDelivery, Webhook).join(
            Webhook, Webhook.id == WebhookDelivery.webhook_id)).where(
            WebhookDelivery.id == key, Webhook.tenant_id == self.tenant_id)
        found = self.session.execute(statement).first()
        return (found[0], found[1]) if found is not None else None

    @operation
    def of_webhook(self, webhook_id: Any, *, limit: int = 50, offset: int = 0) -> tuple[list[WebhookDelivery], int]:
        """The webhook's deliveries, newest first, and how many there are."""
        key = as_uuid(webhook_id)
        if key is None:
            return [], 0
        return self.page(WebhookDelivery.webhook_id == key,
                         order_by=[WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()],
                         limit=limit, offset=offset)

    @operation
    def record(self, delivery_id: uuid.UUID, attempt: int, **values: Any) -> bool:
        """Write an attempt's outcome, if the delivery is still pending at that attempt.

        :returns: whether it was written (``False``: another job recorded it first).
        """
        moved = self.session.execute(self.update_where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempt_number == attempt).values(**values).execution_options(synchronize_session=False))
        return moved.rowcount == 1

    @operation
    def give_up_pending(self, webhook_id: uuid.UUID, reason: str) -> int:
        """Fail every pending delivery of a disabled webhook; returns how many."""
        moved = self.session.execute(self.update_where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == DeliveryStatus.PENDING).values(
            status=DeliveryStatus.FAILED, next_retry_at=None,
            error_message=case((WebhookDelivery.error_message.is_(None), reason),
                               else_=WebhookDelivery.error_message + " · " + reason),
        ).execution_options(synchronize_session=False))
        return moved.rowcount


class WebhookDeliveryLocator(SystemRepository[WebhookDelivery]):
    """Pending deliveries long past their time, whatever their tenant.

    System scope: Redis holds only the queue, so a delivery whose job Redis lost (a flush, a
    failover) is found again from the database by a sweep over every tenant's pending
    deliveries; it reads ids only and hands each back to its own tenant's job.
    """

    model = WebhookDelivery

    @operation
    def overdue(self, cutoff: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
        """``(tenant_id, delivery_id, attempt_number)`` of pending deliveries due before ``cutoff``."""
        due = or_(WebhookDelivery.next_retry_at < cutoff,
                  and_(WebhookDelivery.next_retry_at.is_(None), WebhookDelivery.created_at < cutoff))
        rows = self.session.execute(
            select(WebhookDelivery.tenant_id, WebhookDelivery.id, WebhookDelivery.attempt_number)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING, due)
            .order_by(WebhookDelivery.created_at).limit(limit)).all()
        return [(row[0], row[1], row[2]) for row in rows]


class WebhookSecretRotator(SystemRepository[Webhook]):
    """Every tenant's webhook secrets, for ``flask inkwright secrets rotate``.

    System scope: a key rotation re-encrypts every stored secret at once, whatever its
    tenant, as it does every provider key; it touches the ciphertext column only.
    """

    model = Webhook

    @operation
    def rotate_all(self, box: SecretBox) -> tuple[int, list[uuid.UUID]]:
        """Re-encrypt every webhook secret with the newest key of ``box``.

        :returns: how many were re-encrypted, and the ids of those no configured key decrypts.
        """
        table = Webhook.__table__
        return self.reencrypt_column(table.c.id, table.c.encrypted_secret, box)


#: The payload keys by which an event names the project (or store) it is about: a webhook
#: scoped to one hears only the events that name it.
SCOPE_KEYS = ("projectId", "project_id", "storeId", "store_id")


def scopes_named(payload: dict | None) -> set[str]:
    if not isinstance(payload, dict):
        return set()
    return {str(payload[key]) for key in SCOPE_KEYS if payload.get(key) is not None}
