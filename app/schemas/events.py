"""Recorded domain events."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import ApiSchema, PageQuerySchema


class DomainEventSchema(ApiSchema):
    id = fields.UUID(required=True)
    type = fields.String(required=True)
    aggregate_id = fields.String(required=True)
    tenant_id = fields.UUID(allow_none=True)
    actor_user_id = fields.UUID(allow_none=True)
    payload = fields.Dict(required=True)
    version = fields.Integer(required=True)
    occurred_at = fields.DateTime(required=True)


class EventQuerySchema(PageQuerySchema):
    type = fields.String(load_default=None, validate=validate.Length(max=100))
