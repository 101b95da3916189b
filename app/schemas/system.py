"""Operations: what the metrics endpoint reports to platform administrators."""

from __future__ import annotations

from marshmallow import fields

from .base import ApiSchema


class OperationMetricsSchema(ApiSchema):
    entity = fields.String(required=True, metadata={"description": "Model name, e.g. User"})
    operation = fields.String(required=True, metadata={"description": "Repository method"})
    calls = fields.Integer(required=True)
    errors = fields.Integer(required=True)
    total_ms = fields.Float(required=True)
    mean_ms = fields.Float(required=True)
    max_ms = fields.Float(required=True)


class CacheMetricsSchema(ApiSchema):
    hits = fields.Integer(required=True)
    misses = fields.Integer(required=True)
    ttl = fields.Integer(required=True, metadata={"description": "Seconds a cached lookup lives"})


class MetricsSchema(ApiSchema):
    repositories = fields.List(fields.Nested(OperationMetricsSchema), required=True,
                               metadata={"description": "Busiest operations first"})
    cache = fields.Nested(CacheMetricsSchema, required=True)
