"""A one-off, metered model call over JSON."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from .base import ApiSchema, JsonInteger, ModelName


class MessageSchema(ApiSchema):
    role = fields.String(required=True, validate=validate.OneOf(["system", "user", "assistant"]))
    content = fields.String(required=True, validate=validate.Length(max=400_000))


class CompletionCreateSchema(ApiSchema):
    # one_of_prompt_or_messages below, for the document: exactly one of the two, the other
    # left out or null (the server reads null as left out).
    openapi = {"oneOf": [
        {"required": ["prompt"], "properties": {"prompt": {"type": "string"}, "messages": {"type": "null"}}},
        {"required": ["messages"], "properties": {"messages": {"type": "array"}, "prompt": {"type": "null"}}},
    ]}

    model = ModelName(load_default=None, metadata={"description": "provider:model; DEFAULT_MODEL when left out"})
    prompt = fields.String(load_default=None, validate=validate.Length(min=1, max=400_000))
    messages = fields.List(fields.Nested(MessageSchema), load_default=None, validate=validate.Length(min=1, max=200))
    system = fields.String(load_default=None, validate=validate.Length(max=100_000))
    max_tokens = JsonInteger(load_default=None, validate=validate.Range(min=1, max=200_000))
    temperature = fields.Float(load_default=None, validate=validate.Range(min=0, max=2))
    json_schema = fields.Dict(load_default=None)

    @validates_schema
    def one_of_prompt_or_messages(self, data: dict, **_kwargs) -> None:
        if (data.get("prompt") is None) == (data.get("messages") is None):
            raise ValidationError("Send a prompt or messages, not both.", "prompt")


class CompletionResultSchema(ApiSchema):
    text = fields.String(required=True)
    model = fields.String(required=True, metadata={"description": "The model the provider says answered"})
    finish_reason = fields.String()
    tokens_input = fields.Integer(attribute="input_tokens")
    tokens_output = fields.Integer(attribute="output_tokens")
    usage_source = fields.String(validate=validate.OneOf(["reported", "counted", "estimated"]),
                                 metadata={"description": "Where the token counts come from"})
    response_id = fields.String(allow_none=True)
    offline = fields.Boolean(metadata={"description": "Synthetic output of the offline provider"})
