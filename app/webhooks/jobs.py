"""RQ job functions of webhooks: ids in, the webhook service out (enqueued by dotted path).

``deliver_webhook`` makes one attempt of one delivery. ``queue_fan_out`` is the in-process
handler of every committed event of a catalog type: when one of the tenant's webhooks hears
it, it queues ``fan_out_event``, which queues one ``deliver_webhook`` per such webhook. ``requeue_overdue_deliveries`` is the ``webhooks.requeue`` schedule:
the database is the truth and Redis only the queue, so deliveries whose job was lost are
found again and queued.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from rq.job import Job

from ..events import DomainEvent
from ..jobs import recorded_event
from ..repositories.webhooks import WebhookDeliveryLocator, WebhookRepository
from ..runtime import current_state, repositories, repositories_apart
from .service import DeliveryAttempt, WebhookService, delivery_job_id, webhook_runtime

log = logging.getLogger(__name__)

#: How long past its time a pending delivery may wait before the sweep takes its job for lost:
#: longer than a busy queue keeps a job waiting, so a job still queued is not sent twice.
OVERDUE_AFTER = timedelta(minutes=10)


def _service(tenant_id: Any) -> WebhookService:
    return WebhookService(repositories(tenant_id), current_state(), webhook_runtime(current_app))


def deliver_webhook(tenant_id: str, delivery_id: str) -> dict:
    """One attempt of a delivery: post it signed, record the answer, schedule the next attempt."""
    return DeliveryAttempt(_service(tenant_id)).run(delivery_id)


def queue_fan_out(event: DomainEvent) -> None:
    """After an event of a catalog type commits (in the process that published it): queue its
    fan-out only if one of its tenant's active webhooks hears it. One indexed read of the
    tenant's few webhooks, so the runs of a tenant with no webhook cost no extra job."""
    if event.tenant_id is None:
        return  # a platform event belongs to no tenant's webhooks
    # Apart from the publisher's session: it may go on working (a worker's next step) and
    # must find no read of ours open in it, or broken by a database that went away.
    with repositories_apart(event.tenant_id) as repos:
        heard = bool(repos.get(WebhookRepository).subscribed_to(event.type, event.payload))
    if heard:
        current_state().enqueue("app.webhooks.jobs.fan_out_event", str(event.id))


def fan_out_event(event_id: str) -> int:
    """Make and queue a delivery of a committed event to each of its tenant's webhooks that
    hear it (on a worker: the request that made the event never waits); how many."""
    event = recorded_event(event_id)
    if event.tenant_id is None:
        return 0
    return len(_service(event.tenant_id).fan_out(event))


def requeue_overdue_deliveries() -> int:
    """Queue again each pending delivery 10 minutes past its time whose job Redis no longer has.

    :returns: how many were queued.
    """
    state = current_state()
    overdue = repositories().get(WebhookDeliveryLocator).overdue(state.clock.now() - OVERDUE_AFTER)
    connection, queued = state.redis.client(), 0
    for tenant_id, delivery_id, attempt in overdue:
        if Job.exists(delivery_job_id(delivery_id, attempt), connection=connection):
            continue  # still queued or scheduled: it will run
        _service(tenant_id).enqueue(delivery_id, attempt)
        queued += 1
    if queued:
        log.warning("queued %d webhook deliveries again whose jobs were lost", queued)
    return queued
