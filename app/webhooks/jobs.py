"""RQ job functions of webhooks: ids in, the webhook service out (enqueued by dotted path).

``deliver_webhook`` makes one attempt of one delivery. ``fan_out_event`` is not a job but a
background event handler: ``app.jobs.deliver_event`` calls it on a worker for every
committed event of a type in the catalog, and it queues one ``deliver_webhook`` per
subscribed webhook.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..events import DomainEvent
from ..runtime import current_state, repositories
from .service import DeliveryAttempt, WebhookService, webhook_runtime


def _service(tenant_id: Any) -> WebhookService:
    return WebhookService(repositories(tenant_id), current_state(), webhook_runtime(current_app))


def deliver_webhook(tenant_id: str, delivery_id: str) -> dict:
    """One attempt of a delivery: post it signed, record the answer, schedule the next attempt."""
    return DeliveryAttempt(_service(tenant_id)).run(delivery_id)


def fan_out_event(event: DomainEvent) -> None:
    """Queue a delivery of a committed event to each of its tenant's webhooks that hear it."""
    if event.tenant_id is None:
        return  # a platform event belongs to no tenant's webhooks
    _service(event.tenant_id).fan_out(event)
