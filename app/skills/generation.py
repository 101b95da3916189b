"""``text.generate``: one model call through the metered provider layer.

The generic building block of a workflow that writes: a prompt (and optionally a system
message and a JSON schema) in, the model's text out. With ``candidates`` on the step, each
candidate calls its own model; with ``json_schema`` the answer must be JSON that fits it.
"""

from __future__ import annotations

import json
from typing import Any

from ..toolkit import Schema, Skill, StepContext, fields, validate


class GenerateText(Skill):
    name = "text.generate"
    version = "1"
    description = "Ask a text model (the step's model unless one is named) and return its answer."

    class input_schema(Schema):
        prompt = fields.String(required=True, validate=validate.Length(min=1, max=400_000))
        system = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100_000))
        model = fields.String(load_default=None, allow_none=True,
                              validate=validate.Regexp(r"^[\w.-]+:\S+$", error="Name the model as provider:model."))
        max_tokens = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=200_000))
        temperature = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=2))
        json_schema = fields.Dict(load_default=None, allow_none=True)

    class output_schema(Schema):
        text = fields.String(required=True)
        data = fields.Raw(allow_none=True)
        model = fields.String(required=True)
        offline = fields.Boolean(required=True)
        response_id = fields.String(allow_none=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        completion = ctx.generate(inputs["prompt"], system=inputs["system"], model=inputs["model"],
                                  max_tokens=inputs["max_tokens"], temperature=inputs["temperature"],
                                  json_schema=inputs["json_schema"], stream=inputs["json_schema"] is None)
        data = json.loads(completion.text) if inputs["json_schema"] is not None else None
        return {"text": completion.text, "data": data, "model": completion.model, "offline": completion.offline,
                "response_id": completion.response_id}
