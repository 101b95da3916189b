"""``template.render``: text from a Jinja template and values, in the sandbox."""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..toolkit import Schema, Skill, StepContext, ValidationError, fields, validate


class RenderTemplate(Skill):
    """Render ``template`` with ``values``; a missing value is an error, not blank text."""

    name = "template.render"
    version = "1"
    description = "Render a Jinja template (sandboxed, strict) with the given values."

    class input_schema(Schema):
        template = fields.String(required=True, validate=validate.Length(max=200_000))
        values = fields.Dict(load_default=dict)

    class output_schema(Schema):
        text = fields.String(required=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        try:
            text = environment.from_string(inputs["template"]).render(**inputs["values"])
        except TemplateError as exc:
            raise ValidationError(f"The template could not be rendered: {exc}") from exc
        return {"text": text}
