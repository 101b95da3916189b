"""Tenants, memberships and the caller's own view of them."""

from __future__ import annotations

import enum

from marshmallow import fields, post_load, validate

from ..auth.permissions import GRANTABLE_ROLES
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


#: The roles a membership may be given: a guest is made only by accepting an invitation to
#: something a plugin shares (a project), so the schemas neither offer nor take it.
GrantableRole = enum.Enum("GrantableRole", {role.name: role.value for role in GRANTABLE_ROLES}, type=str)


class GrantsRole(ApiSchema):
    @post_load
    def to_role(self, data: dict, **kwargs) -> dict:
        return {**data, "role": Role(data["role"].value)}


class MembershipCreateSchema(GrantsRole):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    role = fields.Enum(GrantableRole, by_value=True, load_default=GrantableRole.MEMBER)


class MembershipUpdateSchema(GrantsRole):
    role = fields.Enum(GrantableRole, by_value=True, required=True)


class MeSchema(ApiSchema):
    user = fields.Nested(UserSchema, allow_none=True)
    tenant = fields.Nested(TenantSchema, required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    via = fields.String(required=True, metadata={"description": "session, token or api_key"})
    permissions = fields.List(fields.Nested(PermissionSchema), required=True)
