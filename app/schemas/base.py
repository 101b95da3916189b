"""Schema conventions of the JSON API: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

import functools
import re

from marshmallow import RAISE, Schema, fields, validate


def camelcase(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class ApiSchema(Schema):
    """Fields are declared in snake_case and travel as camelCase (seed 000's shapes).

    ``openapi`` holds JSON-schema keywords for rules a schema checks itself, which no field
    can say (``{"minProperties": 1}`` for "send at least one"): the OpenAPI document carries
    them, so it allows nothing the API refuses.
    """

    openapi: dict = {}

    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.data_key = camelcase(field_obj.data_key or field_name)


#: The largest ``offset`` a list accepts: deeper than any real list, and far inside the 64-bit
#: integer a database compares it as (2**63 and up once answered 500).
MAX_OFFSET = 1_000_000_000


class PageQuerySchema(ApiSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


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


class ErrorEnvelopeSchema(EnvelopeSchema):
    """What every refused request answers: ``data`` null, the error, the metadata."""

    success = fields.Boolean(required=True, metadata={"enum": [False]})
    data = fields.Raw(required=True, allow_none=True, metadata={"type": "null",
                                                                "description": "Always null on an error"})
    error = fields.Nested(ErrorBodySchema, required=True)


class StrictBoolean(fields.Boolean):
    """JSON true or false only: ``truthy={True}`` alone still lets 0 and 1 in (they hash as
    False and True), which the document's ``type: boolean`` forbids."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class JsonInteger(fields.Integer):
    """A JSON integer, as the document's ``type: integer`` means it: ``3`` and ``3.0`` (JSON
    schema counts both as integers), never ``"3"``, ``3.5`` or ``true`` (which Python counts as 1)."""

    def __init__(self, **kwargs) -> None:
        kwargs["strict"] = True
        super().__init__(**kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


#: ``provider:model``, as DEFAULT_MODEL and workflows name models; the model part may itself
#: hold ':' or '/' (``ollama:llama3:8b``, ``openrouter:anthropic/claude-3.5-sonnet``), never whitespace.
#: Visible ASCII after the colon: ``\S`` would mean one thing to Python and another to the
#: document's ECMA regexes (U+0085 is whitespace to Python only), and a fuzzer's valid name
#: was refused.
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}:[!-9;-~][!-~]{0,199}\Z"

#: What Python's ``str.isspace`` calls whitespace, spelled so ECMA regexes read the same set
#: (their ``\s`` leaves out U+001C-U+001F and U+0085 and takes U+FEFF in).
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


#: A string holding something besides whitespace (what ``str.strip()`` would not empty).
NOT_BLANK_PATTERN = rf"^[{WHITESPACE}]*[^{WHITESPACE}]"


class NotBlank(validate.Regexp):
    """Refuse a string of whitespace only; as a pattern, so the document says so too (a
    plain check would let a fuzzer's schema-valid ``"\\t"`` be refused)."""

    def __init__(self, error: str = "Must not be blank.") -> None:
        super().__init__(NOT_BLANK_PATTERN, error=error)


class ModelName(fields.String):
    """A model's name, ``provider:model``; the document shows the pattern."""

    def __init__(self, **kwargs) -> None:
        kwargs["validate"] = [validate.Regexp(MODEL_NAME_PATTERN, error="Name the model as provider:model, "
                                                                        "e.g. openai:gpt-4o-mini."),
                              *_as_list(kwargs.get("validate"))]
        super().__init__(**kwargs)


def _as_list(value) -> list:
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


#: An amount as the API writes it: up to 12 digits, a point and up to 10 decimals (as stored).
MONEY_PATTERN = r"^\d{1,12}(\.\d{1,10})?$"

#: A positive amount up to 1,000,000 (a run's budget): a string can carry no
#: ``exclusiveMinimum`` in JSON schema, so the pattern says it (``"0"`` once passed the
#: document and was refused).
POSITIVE_MONEY_PATTERN = (r"^(?:[1-9]\d{0,5}(?:\.\d{1,6})?"
                          r"|0\.(?:[1-9]\d{0,5}|0[1-9]\d{0,4}|00[1-9]\d{0,3}|000[1-9]\d{0,2}|0000[1-9]\d?|00000[1-9])"
                          r"|1000000(?:\.0{1,6})?)$")


class Money(fields.Decimal):
    """An exact amount (US dollars): a decimal string on the wire (``"0.000700"``), never a
    float, which would round it. Documented as ``type: string, format: decimal`` with
    :data:`MONEY_PATTERN` (see ``build_api``); a number sent for it is refused, as documented."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("as_string", True)
        kwargs["metadata"] = {"pattern": MONEY_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # The pattern the document shows for this field (a field may narrow MONEY_PATTERN).
        if not isinstance(value, str) or not re.match(self.metadata["pattern"], value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


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
