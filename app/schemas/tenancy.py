"""Tenants, memberships and the caller's own view of them."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import Role, TenantKind
from .auth import PermissionSchema, UserSchema
from .base import ApiSchema


class TenantSchema(ApiSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    kind = fields.Enum(TenantKind, by_value=True, required=True)
    role = fields.Enum(Role, by_value=True, metadata={"description": "Your role in this tenant"})
    created_at = fields.DateTime(required=True)


class TenantCreateSchema(ApiSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))


class MembershipSchema(ApiSchema):
    id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    email = fields.String(required=True)
    name = fields.String(allow_none=True)
    role = fields.Enum(Role, by_value=True, required=True)
    created_at = fields.DateTime(required=True)


class MembershipCreateSchema(ApiSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    role = fields.Enum(Role, by_value=True, load_default=Role.MEMBER)


class MembershipUpdateSchema(ApiSchema):
    role = fields.Enum(Role, by_value=True, required=True)


class MeSchema(ApiSchema):
    user = fields.Nested(UserSchema, allow_none=True)
    tenant = fields.Nested(TenantSchema, required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    via = fields.String(required=True, metadata={"description": "session, token or api_key"})
    permissions = fields.List(fields.Nested(PermissionSchema), required=True)
