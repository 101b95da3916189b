"""``json.shape``: pick, rename and set keys of JSON data between steps."""

from __future__ import annotations

from typing import Any

from ..toolkit import Schema, Skill, StepContext, ValidationError, fields


class ShapeJson(Skill):
    """Reshape a JSON object: keep ``pick`` keys (all if empty), apply ``rename``, then ``set``."""

    name = "json.shape"
    version = "1"
    description = "Keep, rename and set keys of a JSON object."

    class input_schema(Schema):
        data = fields.Dict(required=True)
        pick = fields.List(fields.String(), load_default=list)
        rename = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
        set = fields.Dict(load_default=dict)

    class output_schema(Schema):
        data = fields.Dict(required=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        data = inputs["data"]
        missing = [key for key in inputs["pick"] if key not in data]
        if missing:
            raise ValidationError(f"The data has no key {', '.join(map(repr, missing))} to pick.")
        kept = {key: data[key] for key in inputs["pick"]} if inputs["pick"] else dict(data)
        shaped = {inputs["rename"].get(key, key): value for key, value in kept.items()}
        shaped.update(inputs["set"])
        return {"data": shaped}
