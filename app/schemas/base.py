"""Schema conventions of the JSON API: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

import functools

from marshmallow import RAISE, Schema, fields, validate


def camelcase(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class ApiSchema(Schema):
    """Fields are declared in snake_case and travel as camelCase (seed 000's shapes)."""

    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.data_key = camelcase(field_obj.data_key or field_name)


class PageQuerySchema(ApiSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ErrorBodySchema(ApiSchema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = fields.String(required=True)
    retryable = fields.Boolean()
    details = fields.Dict(metadata={"description": "Field errors under `fields`, or context"})


class MetadataSchema(ApiSchema):
    request_id = fields.String(required=True)
    timestamp = fields.DateTime(required=True)
    version = fields.String(required=True)
    duration = fields.Float(allow_none=True, metadata={"description": "Milliseconds spent"})


class EnvelopeSchema(ApiSchema):
    success = fields.Boolean(required=True)
    error = fields.Nested(ErrorBodySchema, allow_none=True)
    metadata = fields.Nested(MetadataSchema, required=True)


@functools.cache
def envelope_of(schema_class: type[Schema], many: bool) -> type[Schema]:
    """The documented envelope around a response schema (memoised: one class per schema)."""
    name = f"{schema_class.__name__.removesuffix('Schema')}{'List' if many else ''}Envelope"
    return type(name, (EnvelopeSchema,), {"data": fields.Nested(schema_class, many=many, allow_none=True)})


@functools.cache
def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A page of items, ``{items, total, limit, offset}`` (memoised like ``envelope_of``)."""
    name = f"{item_schema.__name__.removesuffix('Schema')}PageSchema"
    return type(name, (ApiSchema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "total": fields.Integer(required=True),
        "limit": fields.Integer(required=True),
        "offset": fields.Integer(required=True),
    })


class OkSchema(ApiSchema):
    success = fields.Boolean(required=True)
