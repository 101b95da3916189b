"""Outbound webhooks and their deliveries (seed 003 tables 10-11)."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import DeliveryStatus
from .base import ApiSchema, NotBlank, StrictBoolean
from .base import PageQuerySchema as _PageQuery


class WebhookSchema(ApiSchema):
    id = fields.UUID(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    is_active = fields.Boolean(required=True)
    project_id = fields.UUID(allow_none=True, metadata={"description": "Set: only events naming this project "
                                                                      "(or store) are delivered"})
    created_by_user_id = fields.UUID(allow_none=True)
    last_delivery_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    total_deliveries = fields.Integer(required=True)
    failed_deliveries = fields.Integer(required=True)
    consecutive_failures = fields.Integer(required=True)
    disabled_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CreatedWebhookSchema(WebhookSchema):
    secret = fields.String(required=True, metadata={
        "description": "Signs every delivery (Inkwright-Signature). Shown once; store it now"})


class WebhookCreateSchema(ApiSchema):
    url = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NotBlank()],
                        metadata={"description": "http(s) URL on the public internet"})
    events = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                         validate=validate.Length(min=1, max=100),
                         metadata={"description": "Event types of GET /api/webhooks/event-types"})
    description = fields.String(load_default="", validate=validate.Length(max=200))
    is_active = StrictBoolean(load_default=True)
    project_id = fields.UUID(load_default=None, allow_none=True,
                             metadata={"description": "Hear only the events that name this project (or store) "
                                                      "in their data (projectId, storeId); none: all the tenant's"})


class WebhookUpdateSchema(ApiSchema):
    """Fields to change; those left out stay as they are."""

    url = fields.String(validate=[validate.Length(min=1, max=2000), NotBlank()])
    events = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                         validate=validate.Length(min=1, max=100))
    description = fields.String(validate=validate.Length(max=200))
    is_active = StrictBoolean(metadata={"description": "true switches a disabled webhook on again"})
    project_id = fields.UUID(allow_none=True, metadata={"description": "null: hear the whole tenant again"})


class EventTypeSchema(ApiSchema):
    name = fields.String(required=True)
    description = fields.String(required=True)


class WebhookDeliverySchema(ApiSchema):
    id = fields.UUID(required=True, metadata={"description": "The Inkwright-Delivery header"})
    webhook_id = fields.UUID(required=True)
    event_id = fields.UUID(allow_none=True)
    event_type = fields.String(required=True)
    event_payload = fields.Dict(required=True, metadata={"description": "The body posted"})
    status = fields.Enum(DeliveryStatus, by_value=True, required=True)
    status_code = fields.Integer(allow_none=True)
    response_body = fields.String(allow_none=True, metadata={"description": "At most 2,048 characters"})
    response_time_ms = fields.Integer(allow_none=True)
    attempt_number = fields.Integer(required=True)
    next_retry_at = fields.DateTime(allow_none=True)
    error_message = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(allow_none=True)
    redelivery_of_id = fields.UUID(allow_none=True)


class DeliveryQuerySchema(_PageQuery):
    pass
