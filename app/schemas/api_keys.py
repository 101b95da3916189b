"""API keys (seed 002)."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import ApiKeyStatus, Role
from .base import ApiSchema


class ApiKeySchema(ApiSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "First characters, to tell keys apart"})
    role = fields.Enum(Role, by_value=True, required=True)
    status = fields.Enum(ApiKeyStatus, by_value=True, required=True)
    created_by_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class IssuedApiKeySchema(ApiKeySchema):
    secret = fields.String(required=True, metadata={"description": "Shown once; store it now"})


class ApiKeyCreateSchema(ApiSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.Enum(Role, by_value=True, load_default=None,
                       metadata={"description": "At most your own role; member by default"})
    expires_in_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=3650))
