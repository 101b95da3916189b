"""Feature flags, for platform administrators; and the flags as they are for the caller."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import SubscriptionTier
from .base import ApiSchema, JsonInteger, StrictBoolean

_KEY = validate.Regexp(r"^[a-z][a-z0-9_.\-]{1,99}$", error="2 to 100 lower-case letters, digits, dots, dashes, underscores.")


class FeatureFlagSchema(ApiSchema):
    flag_key = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    is_enabled = fields.Boolean(required=True)
    rollout_percentage = fields.Integer(required=True)
    rollout_user_ids = fields.List(fields.String(), required=True)
    rollout_tiers = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class FeatureFlagChangeSchema(ApiSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=2000))
    is_enabled = StrictBoolean()
    rollout_percentage = JsonInteger(validate=validate.Range(min=0, max=100))
    rollout_user_ids = fields.List(fields.UUID(), validate=validate.Length(max=1000))
    rollout_tiers = fields.List(fields.Enum(SubscriptionTier, by_value=True), validate=validate.Length(max=10))


class FeatureFlagCreateSchema(FeatureFlagChangeSchema):
    flag_key = fields.String(required=True, validate=_KEY)


class MyFlagsSchema(ApiSchema):
    flags = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True,
                        metadata={"description": "Each flag's key, and whether it is on for you"})
