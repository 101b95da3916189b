"""A person's notifications."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import NotificationPriority
from .base import ApiSchema, PageQuerySchema


class NotificationSchema(ApiSchema):
    id = fields.UUID(required=True)
    type = fields.String(required=True)
    title = fields.String(required=True)
    message = fields.String(required=True)
    related_entity_type = fields.String(allow_none=True)
    related_entity_id = fields.String(allow_none=True)
    is_read = fields.Boolean(required=True)
    read_at = fields.DateTime(allow_none=True)
    action_url = fields.String(allow_none=True)
    action_label = fields.String(allow_none=True)
    priority = fields.Enum(NotificationPriority, by_value=True, required=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)


class NotificationPageSchema(ApiSchema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True, metadata={"description": "Unread notifications in all"})
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=None, truthy={"true"}, falsy={"false"},
                            metadata={"description": "Only unread (true) or only read (false)"})
    priority = fields.Enum(NotificationPriority, by_value=True, load_default=None)


class MarkedSchema(ApiSchema):
    marked = fields.Integer(required=True, metadata={"description": "Notifications marked read by this call"})
    unread = fields.Integer(required=True)


class NotificationEventsQuerySchema(ApiSchema):
    keepalive = fields.Integer(load_default=15, validate=validate.Range(min=1, max=60))
    after = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,15}-\d{1,10}$"),
                          metadata={"description": "Send what came after this stream id (a page's moment as "
                                                   "milliseconds-0); the newest entry by default"})
