"""The model catalog as the API shows it."""

from __future__ import annotations

from marshmallow import fields

from .base import ApiSchema, Money


class ModelSchema(ApiSchema):
    name = fields.String(required=True, metadata={"description": "provider:model"})
    provider = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "text, or a media type (image, audio, video)"})
    context_window = fields.Integer(allow_none=True)
    input_per_1k = Money(allow_none=True, data_key="inputPer1k",
                                  metadata={"description": "USD per 1,000 prompt tokens"})
    output_per_1k = Money(allow_none=True, data_key="outputPer1k",
                                   metadata={"description": "USD per 1,000 completion tokens"})
    price_per_item = Money(allow_none=True,
                                    metadata={"description": "USD per media generation"})
    priced = fields.Boolean(required=True)
    offline = fields.Boolean(required=True, metadata={"description": "Synthetic output, no real model"})
    requires_key = fields.Boolean(required=True)
    description = fields.String()
    structured_output = fields.String(allow_none=True, metadata={
        "description": "How its server is asked for JSON, when the catalog says (else the provider's way)"})


class ModelListSchema(ApiSchema):
    models = fields.List(fields.Nested(ModelSchema), required=True)
    default_model = fields.String(required=True)
