"""Webhooks' rules: who may manage them, what they hear, and how a delivery goes.

:class:`WebhookService` is what the JSON API and the studio call (owners and admins only,
in their tenant); :class:`DeliveryAttempt` is what a worker runs for one delivery. Both go
through the repositories of one tenant, so another tenant's webhook is simply not found.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from flask import Flask

from .. import audit
from ..auth.principal import Principal
from ..errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ..events import DomainEvent
from ..models import DeliveryStatus, Membership, Role, Webhook, WebhookDelivery
from ..notifications import write_notification
from ..queue import job_arguments
from ..repositories import Repositories
from ..repositories.webhooks import WebhookDeliveryRepository, WebhookRepository
from ..runtime import InkwrightState, mailer
from ..secrets import SecretUnreadableError
from . import backoff
from .address_guard import Resolver, UnsafeTargetError, parse_target, resolve_target, system_resolver
from .catalog import TEST_EVENT, EventCatalog
from .delivery import AttemptOutcome, post_delivery
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, new_secret, signature_header

log = logging.getLogger(__name__)

EXTENSION_KEY = "inkwright.webhooks"
DELIVER_JOB = "app.webhooks.jobs.deliver_webhook"
#: Version of the envelope posted (``{"id", "type", "version", ...}``); changes only with its shape.
ENVELOPE_VERSION = 1
MAX_EVENTS = 100
MAX_DESCRIPTION = 200
#: RQ's limit on one delivery job: connect + read timeouts, and room for the database.
JOB_TIMEOUT = 120


@dataclass
class WebhookRuntime:
    """One app's webhook machinery, in ``app.extensions["inkwright.webhooks"]``.

    :param catalog: the event types that may be subscribed to.
    :param allow_private: ``WEBHOOK_ALLOW_PRIVATE_TARGETS``.
    :param resolver: turns a host into addresses (the system's; tests give their own).
    :param rng: the backoff's jitter (tests seed it).
    """

    catalog: EventCatalog
    allow_private: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    resolver: Resolver = system_resolver
    rng: random.Random = field(default_factory=random.Random)


def webhook_runtime(app: Flask) -> WebhookRuntime:
    return app.extensions[EXTENSION_KEY]


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    #: The signing secret in clear: in this answer only, never again.
    secret: str


def delivery_job_id(delivery_id: Any, attempt: int) -> str:
    """The RQ job id of one attempt: a second enqueue of the same attempt replaces, not adds."""
    return f"webhook-delivery-{delivery_id}-{attempt}"


def envelope_of(event: DomainEvent) -> dict[str, Any]:
    """The versioned document a webhook receives for a recorded domain event."""
    return {"id": str(event.id), "type": event.type, "version": event.version,
            "created_at": event.timestamp.isoformat(), "tenant_id": str(event.tenant_id) if event.tenant_id else None,
            "data": event.payload}


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON with sorted keys."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the audit log's JSON keeps them (a time as ISO 8601)."""
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}


def _invalid(field_name: str, message: str) -> ValidationError:
    return ValidationError("Some of the values sent are not valid; see error.details.fields.",
                           {"fields": {field_name: [message]}})


class WebhookService:
    """Manage a tenant's webhooks and send events to them.

    :param repos: the repositories of the caller's tenant.
    :param state: the app's state (clock, secrets, queue).
    :param runtime: the app's :class:`WebhookRuntime`.
    :param principal: who asks; ``None`` for the worker's own work (fan-out).
    """

    def __init__(self, repos: Repositories, state: InkwrightState, runtime: WebhookRuntime,
                 principal: Principal | None = None) -> None:
        self.repos = repos
        self.state = state
        self.runtime = runtime
        self.principal = principal
        self.webhooks = repos.get(WebhookRepository)
        self.deliveries = repos.get(WebhookDeliveryRepository)

    # Who may ------------------------------------------------------------------------------------
    def authorize(self) -> Principal:
        """:raises ForbiddenError: unless the caller is an owner or admin of the tenant."""
        principal = self.principal
        if principal is None or not principal.role.at_least(Role.ADMIN):
            role = principal.role.value if principal else "none"
            raise ForbiddenError(f"Your role ({role}) may not manage webhooks; owners and admins may.",
                                 {"resource": "webhooks", "role": role})
        return principal

    # Checks ---------------------------------------------------------------------------------------
    def check_url(self, url: str) -> str:
        """The URL, trimmed, if Inkwright may post to it.

        Its form is checked, and so is every address it resolves to now; a name that does not
        resolve yet is accepted (each delivery resolves it again and fails while it does not).

        :raises ValidationError: ``fields.url`` saying why not.
        """
        try:
            target = parse_target(url)
        except UnsafeTargetError as error:
            raise _invalid("url", str(error)) from None
        try:
            resolve_target(target, allow_private=self.runtime.allow_private, resolver=self.runtime.resolver)
        except UnsafeTargetError as error:
            if "does not resolve" not in str(error):
                raise _invalid("url", str(error)) from None
        return target.url

    def check_events(self, events: Iterable[str]) -> list[str]:
        """The event types, each once, in the order given.

        :raises ValidationError: ``fields.events`` naming those no one declared.
        """
        chosen = list(dict.fromkeys(str(name).strip() for name in events))
        if not chosen:
            raise _invalid("events", "Choose at least one event type.")
        if len(chosen) > MAX_EVENTS:
            raise _invalid("events", f"At most {MAX_EVENTS} event types.")
        unknown = self.runtime.catalog.unknown(chosen)
        if unknown:
            raise _invalid("events", f"Unknown event types: {', '.join(sorted(unknown)[:10])}. "
                                     f"See GET /api/webhooks/event-types.")
        return chosen

    # Managing -------------------------------------------------------------------------------------
    def list(self) -> list[Webhook]:
        self.authorize()
        return self.webhooks.newest_first()

    def get(self, webhook_id: Any) -> Webhook:
        """:raises NotFoundError: for an id that is not one of this tenant's webhooks."""
        self.authorize()
        return self._require(webhook_id)

    def _require(self, webhook_id: Any) -> Webhook:
        found = self.webhooks.get(webhook_id)
        if found is None:
            raise NotFoundError(f"No webhook with id {webhook_id} here.", {"id": str(webhook_id)})
        return found

    def create(self, url: str, events: Iterable[str], description: str = "", is_active: bool = True,
               project_id: uuid.UUID | None = None) -> CreatedWebhook:
        """Add a webhook with a fresh secret, returned here once and stored encrypted;
        ``project_id`` scopes it to the events that name that project (or store)."""
        principal = self.authorize()
        checked_url, chosen = self.check_url(url), self.check_events(events)
        secret = new_secret()
        with self.repos.transaction():
            hook = self.webhooks.add(Webhook(
                url=checked_url, events=chosen, description=(description or "").strip()[:MAX_DESCRIPTION],
                encrypted_secret=self.state.secrets.encrypt(secret), is_active=bool(is_active),
                disabled_at=None if is_active else self.state.clock.now(), created_by_user_id=principal.user_id,
                project_id=project_id, total_deliveries=0, failed_deliveries=0, consecutive_failures=0))
            # The audit log's "settings change", in the change's own transaction (never the secret).
            audit.record(self.repos, "webhook.create", "webhook", hook.id,
                         metadata={"url": hook.url, "events": chosen, "is_active": hook.is_active,
                                   "project_id": project_id})
        return CreatedWebhook(hook, secret)

    def update(self, webhook_id: Any, changes: dict[str, Any]) -> Webhook:
        """Change a webhook's URL, events, description or active flag.

        Switching it on again clears ``disabled_at`` and its run of failures, so a fixed
        receiver starts afresh.
        """
        self.authorize()
        hook = self._require(webhook_id)
        values: dict[str, Any] = {}
        if "url" in changes:
            values["url"] = self.check_url(changes["url"])
        if "events" in changes:
            values["events"] = self.check_events(changes["events"])
        if "description" in changes:
            values["description"] = (changes["description"] or "").strip()[:MAX_DESCRIPTION]
        if "project_id" in changes:
            values["project_id"] = changes["project_id"]
        now = self.state.clock.now()
        if "is_active" in changes and bool(changes["is_active"]) != hook.is_active:
            values["is_active"] = bool(changes["is_active"])
            values["disabled_at"] = None if values["is_active"] else now
            if values["is_active"]:
                values["consecutive_failures"] = 0
        with self.repos.transaction():
            before = {name: getattr(hook, name) for name in values}
            for name, value in values.items():
                setattr(hook, name, value)
            self.webhooks.save(hook)
            differ = audit.changed(_plain(before), _plain(values))
            if differ:
                audit.record(self.repos, "webhook.update", "webhook", hook.id, changes=differ)
        return hook

    def delete(self, webhook_id: Any) -> Webhook:
        """Remove a webhook and its delivery log (a retry still queued finds nothing and stops)."""
        self.authorize()
        hook = self._require(webhook_id)
        with self.repos.transaction():
            audit.record(self.repos, "webhook.delete", "webhook", hook.id, metadata={"url": hook.url})
            self.webhooks.delete(hook)
        return hook

    def delivery_log(self, webhook_id: Any, limit: int = 50, offset: int = 0) -> tuple[list[WebhookDelivery], int]:
        self.authorize()
        hook = self._require(webhook_id)
        return self.deliveries.of_webhook(hook.id, limit=limit, offset=offset)

    def get_delivery(self, delivery_id: Any) -> WebhookDelivery:
        self.authorize()
        found = self.deliveries.get(delivery_id)
        if found is None:
            raise NotFoundError(f"No webhook delivery with id {delivery_id} here.", {"id": str(delivery_id)})
        return found

    def send_test(self, webhook_id: Any) -> WebhookDelivery:
        """Queue a ``webhook.test`` event to the webhook (even a disabled one: a person asked)."""
        self.authorize()
        hook = self._require(webhook_id)
        now = self.state.clock.now()
        payload = {"id": str(uuid.uuid4()), "type": TEST_EVENT.name, "version": ENVELOPE_VERSION,
                   "created_at": now.isoformat(), "tenant_id": str(hook.tenant_id),
                   "data": {"webhookId": str(hook.id), "message": "A test event from Inkwright."}}
        with self.repos.transaction():
            delivery = self.deliveries.add(WebhookDelivery(
                webhook_id=hook.id, event_id=None, event_type=TEST_EVENT.name, event_payload=payload,
                status=DeliveryStatus.PENDING, attempt_number=1, created_at=now))
        self.enqueue(delivery.id)
        return delivery

    def redeliver(self, delivery_id: Any) -> WebhookDelivery:
        """Send a delivery's event again, as a new delivery (a new ``Inkwright-Delivery`` id;
        the event's own ``id`` in the body is unchanged, for receivers that keep it).

        :raises ConflictError: while the delivery is still pending (it is being tried already).
        """
        original = self.get_delivery(delivery_id)
        if original.status == DeliveryStatus.PENDING:
            raise ConflictError("This delivery is still being tried; redeliver it once it has ended.",
                                {"status": original.status.value})
        now = self.state.clock.now()
        with self.repos.transaction():
            delivery = self.deliveries.add(WebhookDelivery(
                webhook_id=original.webhook_id, event_id=original.event_id, event_type=original.event_type,
                event_payload=original.event_payload, status=DeliveryStatus.PENDING, attempt_number=1,
                created_at=now, redelivery_of_id=original.id))
        self.enqueue(delivery.id)
        return delivery

    # Sending --------------------------------------------------------------------------------------
    def fan_out(self, event: DomainEvent) -> list[uuid.UUID]:
        """Make a delivery of ``event`` for each active webhook of its tenant that hears it,
        then queue them; returns the deliveries' ids."""
        hooks = self.webhooks.subscribed_to(event.type, event.payload)
        if not hooks:
            return []
        payload, now = envelope_of(event), self.state.clock.now()
        with self.repos.transaction():
            made = self.deliveries.add_all([WebhookDelivery(
                webhook_id=hook.id, event_id=event.id, event_type=event.type, event_payload=payload,
                status=DeliveryStatus.PENDING, attempt_number=1, created_at=now) for hook in hooks])
        ids = [delivery.id for delivery in made]
        self.enqueue_many(ids)
        return ids

    def enqueue(self, delivery_id: uuid.UUID, attempt: int = 1, delay: float = 0.0) -> None:
        """Queue one attempt of a delivery (after ``delay`` seconds: RQ's scheduler moves it)."""
        queue = self.state.queue()
        args = job_arguments((self.repos.tenant_id, delivery_id))
        options = {"job_id": delivery_job_id(delivery_id, attempt), "job_timeout": JOB_TIMEOUT,
                   "result_ttl": 600, "failure_ttl": 86400}
        if delay > 0:
            queue.enqueue_in(timedelta(seconds=delay), DELIVER_JOB, *args, **options)
        else:
            queue.enqueue(DELIVER_JOB, *args, **options)

    def enqueue_many(self, delivery_ids: list[uuid.UUID]) -> None:
        """Queue the first attempts of many deliveries in one round trip (a fan-out of 100)."""
        queue = self.state.queue()
        jobs = [queue.prepare_data(DELIVER_JOB, args=tuple(job_arguments((self.repos.tenant_id, delivery_id))),
                                   job_id=delivery_job_id(delivery_id, 1), timeout=JOB_TIMEOUT,
                                   result_ttl=600, failure_ttl=86400) for delivery_id in delivery_ids]
        queue.enqueue_many(jobs)


class DeliveryAttempt:
    """One attempt of one delivery, as a worker makes it: check, sign, post, record, and
    either schedule the next attempt or end the delivery; disable the webhook on its 10th
    failure in a row and tell its owners (business rule 5)."""

    def __init__(self, service: WebhookService) -> None:
        self.service = service
        self.repos = service.repos
        self.state = service.state
        self.runtime = service.runtime

    def run(self, delivery_id: Any) -> dict[str, Any]:
        service = self.service
        found = service.deliveries.with_webhook(delivery_id)
        if found is None or found[0].status != DeliveryStatus.PENDING:
            return {"delivery": str(delivery_id), "skipped": "not pending"}
        delivery, hook = found
        now = self.state.clock.now()
        if delivery.next_retry_at is not None and delivery.next_retry_at > now:
            # Early (a scheduler moved it before its time, or a duplicate): wait the rest.
            service.enqueue(delivery.id, delivery.attempt_number,
                            (delivery.next_retry_at - now).total_seconds())
            return {"delivery": str(delivery.id), "skipped": "not due"}
        asked_by_person = delivery.event_type == TEST_EVENT.name or delivery.redelivery_of_id is not None
        if not hook.is_active and not asked_by_person:
            with self.repos.transaction():
                service.deliveries.record(delivery.id, delivery.attempt_number, status=DeliveryStatus.FAILED,
                                          next_retry_at=None, error_message="The webhook is disabled.")
            return {"delivery": str(delivery.id), "skipped": "webhook disabled"}
        attempt, webhook_id, event_type = delivery.attempt_number, hook.id, delivery.event_type
        body, url, token = body_of(delivery.event_payload), hook.url, hook.encrypted_secret
        # Nothing stays open while a receiver takes its time.
        self.repos.transaction().end_read()
        try:
            outcome = self.post(url, body, self.state.secrets.decrypt(token), str(delivery.id), event_type)
        except SecretUnreadableError:
            outcome = AttemptOutcome(None, None, 0, "the webhook's secret cannot be decrypted with any configured "
                                                    "key (SECRET_ENCRYPTION_KEYS); nothing was sent")
        except Exception as exc:  # noqa: BLE001 - an attempt that broke is a failed attempt, retried, not a lost one
            log.exception("webhook delivery %s: the attempt broke", delivery.id)
            outcome = AttemptOutcome(None, None, 0, f"the attempt broke: {type(exc).__name__}")
        return self.record(delivery.id, webhook_id, attempt, outcome)

    def post(self, url: str, body: bytes, secret: str, delivery_id: str, event_type: str) -> AttemptOutcome:
        try:
            target = parse_target(url)
            addresses = resolve_target(target, allow_private=self.runtime.allow_private,
                                       resolver=self.runtime.resolver)
        except UnsafeTargetError as error:
            return AttemptOutcome(None, None, 0, f"refused before sending: {error}")
        timestamp = int(self.state.clock.now().timestamp())
        headers = {SIGNATURE_HEADER: signature_header(body, secret, timestamp), DELIVERY_HEADER: delivery_id,
                   EVENT_HEADER: event_type}
        return post_delivery(target, addresses, body, headers, connect_timeout=self.runtime.connect_timeout,
                             read_timeout=self.runtime.read_timeout)

    def record(self, delivery_id: uuid.UUID, webhook_id: uuid.UUID, attempt: int,
               outcome: AttemptOutcome) -> dict[str, Any]:
        service, now = self.service, self.state.clock.now()
        retry_at: datetime | None = None
        disabled_now = False
        # Two statements and a commit: the fewer, the more deliveries one worker keeps
        # in flight (bench/webhook_fanout.py). A webhook switched off meanwhile is seen by
        # the retry, which then ends the delivery; a deleted one took its deliveries along.
        with self.repos.transaction():
            common = {"status_code": outcome.status_code, "response_body": outcome.body,
                      "response_time_ms": outcome.elapsed_ms, "error_message": outcome.error}
            if outcome.delivered:
                values = {**common, "status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_retry_at": None}
            else:
                retry_at = backoff.next_retry_at(now, attempt, self.runtime.rng)
                if retry_at is not None:
                    values = {**common, "status": DeliveryStatus.PENDING, "attempt_number": attempt + 1,
                              "next_retry_at": retry_at}
                else:
                    values = {**common, "status": DeliveryStatus.FAILED, "next_retry_at": None}
            if not service.deliveries.record(delivery_id, attempt, **values):
                return {"delivery": str(delivery_id), "skipped": "recorded by another job"}
            failures = service.webhooks.count_attempt(webhook_id, delivered=outcome.delivered,
                                                      status_code=outcome.status_code, now=now)
            if failures >= backoff.DISABLE_AFTER_FAILURES and service.webhooks.disable(webhook_id, now):
                disabled_now = True
                retry_at = None
                service.deliveries.give_up_pending(
                    webhook_id, f"The webhook was disabled after {failures} failures in a row.")
                self.tell_owners(service.webhooks.get(webhook_id), failures, outcome)
        if retry_at is not None:
            service.enqueue(delivery_id, attempt + 1, (retry_at - now).total_seconds())
        return {"delivery": str(delivery_id), "attempt": attempt, "delivered": outcome.delivered,
                "status_code": outcome.status_code, "error": outcome.error,
                "next_retry_at": retry_at.isoformat() if retry_at else None, "disabled": disabled_now}

    def tell_owners(self, hook: Webhook, failures: int, outcome: AttemptOutcome) -> None:
        """Notify the webhook's creator and the tenant's owners that it was switched off."""
        owners = [m.user_id for m in self.repos.memberships.list(Membership.role == Role.OWNER)]
        people = list(dict.fromkeys([*([hook.created_by_user_id] if hook.created_by_user_id else []), *owners]))
        last = outcome.error or f"the receiver answered {outcome.status_code}"
        for user_id in people:
            write_notification(
                self.repos, self.state.clock.now(), user_id, "webhook_disabled", "A webhook was disabled",
                f"{hook.url} failed {failures} times in a row (last: {last}), so Inkwright stopped sending "
                "to it. Fix the receiver, then switch the webhook on again.",
                tenant_id=hook.tenant_id, related_entity_type="webhook", related_entity_id=str(hook.id),
                action_url=f"/webhooks/{hook.id}", action_label="Open the webhook", priority="high",
                mailer=mailer())
