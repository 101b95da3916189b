"""A tenant's outbound webhooks over JSON: CRUD, the delivery log, a test event, redelivery.

Owners and admins only; another tenant's webhook or delivery is a 404 like one that never
existed. The rules live in :mod:`app.webhooks.service`, shared with the studio's pages.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..auth.principal import current_principal
from ..runtime import current_state, repositories
from ..schemas.base import page_of
from ..schemas.webhooks import (
    CreatedWebhookSchema,
    DeliveryQuerySchema,
    EventTypeSchema,
    WebhookCreateSchema,
    WebhookDeliverySchema,
    WebhookSchema,
    WebhookUpdateSchema,
)
from ..webhooks.service import WebhookService, webhook_runtime
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("webhooks", __name__, url_prefix="/api", description="Outbound webhooks")


def webhook_service() -> WebhookService:
    """The service acting for the caller, in their tenant."""
    return WebhookService(repositories(), current_state(), webhook_runtime(current_app), current_principal())


@blp.route("/webhooks")
@blp.response(200, WebhookSchema(many=True))
def list_webhooks():
    """The tenant's webhooks, newest first, with their delivery counters."""
    return webhook_service().list()


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(WebhookCreateSchema)
@blp.response(201, CreatedWebhookSchema)
def create_webhook(body: dict[str, Any]):
    """Add a webhook. Its signing secret is in this response only; it is stored encrypted.

    The URL must be http(s) and reach a public address; the events must be in the catalog.
    """
    created = webhook_service().create(body["url"], body["events"], body["description"], body["is_active"],
                                       body["project_id"])
    hook = created.webhook
    return {name: getattr(hook, name) for name in WebhookSchema().fields} | {"secret": created.secret}


@blp.route("/webhooks/event-types")
@blp.response(200, EventTypeSchema(many=True))
def list_event_types():
    """The event types a webhook may subscribe to: the core's and each plugin's."""
    webhook_service().authorize()
    return list(webhook_runtime(current_app).catalog.types)


@blp.route("/webhooks/<webhook_id>")
@blp.response(200, WebhookSchema)
def get_webhook(webhook_id: str):
    return webhook_service().get(webhook_id)


@blp.route("/webhooks/<webhook_id>", methods=["PATCH"])
@blp.arguments(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
def update_webhook(changes: dict[str, Any], webhook_id: str):
    """Change the URL, events, description or active flag (``isActive: true`` switches a
    disabled webhook on again, its run of failures forgotten)."""
    return webhook_service().update(webhook_id, changes)


@blp.route("/webhooks/<webhook_id>", methods=["DELETE"])
@blp.response(200, WebhookSchema)
def delete_webhook(webhook_id: str):
    """Remove a webhook and its delivery log."""
    return webhook_service().delete(webhook_id)


@blp.route("/webhooks/<webhook_id>/deliveries")
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, page_of(WebhookDeliverySchema))
def list_deliveries(query: dict[str, Any], webhook_id: str):
    """The webhook's delivery log, newest first: status, answer, time taken, attempts."""
    items, total = webhook_service().delivery_log(webhook_id, query["limit"], query["offset"])
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


@blp.route("/webhooks/<webhook_id>/test", methods=["POST"])
@blp.response(202, WebhookDeliverySchema)
def send_test_event(webhook_id: str):
    """Queue a ``webhook.test`` event to the webhook; the delivery is returned pending."""
    return webhook_service().send_test(webhook_id)


@blp.route("/webhook-deliveries/<delivery_id>")
@blp.response(200, WebhookDeliverySchema)
def get_delivery(delivery_id: str):
    return webhook_service().get_delivery(delivery_id)


@blp.route("/webhook-deliveries/<delivery_id>/redeliver", methods=["POST"])
@blp.response(202, WebhookDeliverySchema)
def redeliver(delivery_id: str):
    """Send an ended delivery's event again, as a new delivery (409 while it is still pending)."""
    return webhook_service().redeliver(delivery_id)
