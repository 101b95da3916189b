"""Artifacts: content-addressed files steps produced."""

from __future__ import annotations

from marshmallow import fields

from .base import ApiSchema


class ArtifactSchema(ApiSchema):
    id = fields.UUID(required=True)
    run_id = fields.UUID(allow_none=True)
    run_step_id = fields.UUID(allow_none=True)
    skill = fields.String(allow_none=True)
    media_type = fields.String(required=True)
    content_hash = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    filename = fields.String(allow_none=True)
    metadata = fields.Dict(attribute="metadata_")
    created_at = fields.DateTime(required=True)
