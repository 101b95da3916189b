"""Shapes of seed 000's auth routes: AuthRequest, RegisterRequest, AuthResponse, AuthSession."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import ApiSchema


class AuthRequestSchema(ApiSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    tenant_id = fields.UUID(load_default=None, metadata={"description": "Tenant to act in; your personal one by default"})


class RegisterRequestSchema(ApiSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    name = fields.String(load_default=None, validate=validate.Length(max=255))


class RefreshRequestSchema(ApiSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PasswordResetRequestSchema(ApiSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class PasswordResetConfirmSchema(ApiSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class UserSchema(ApiSchema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    name = fields.String(allow_none=True)
    avatar = fields.String(attribute="avatar_url", allow_none=True)
    email_verified = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(allow_none=True)


class AuthSessionSchema(ApiSchema):
    user_id = fields.UUID(required=True)
    tenant_id = fields.UUID(required=True)
    token = fields.String(required=True, metadata={"description": "Access token; send as Authorization: Bearer"})
    expires_at = fields.DateTime(required=True)
    refresh_token = fields.String(required=True)
    refresh_expires_at = fields.DateTime(required=True)


class PermissionSchema(ApiSchema):
    resource = fields.String(required=True)
    actions = fields.List(fields.String(), required=True)


class AuthResponseSchema(ApiSchema):
    user = fields.Nested(UserSchema, required=True)
    session = fields.Nested(AuthSessionSchema, required=True)
    permissions = fields.List(fields.Nested(PermissionSchema), required=True)
