"""``media.image``: an image from a prompt, made by an asynchronous media model.

The step waits for the generation without holding a worker (see
:meth:`app.toolkit.StepContext.generate_media`); its output names the stored artifact.
"""

from __future__ import annotations

from typing import Any

from ..toolkit import Schema, Skill, StepContext, fields, validate


class GenerateImage(Skill):
    name = "media.image"
    version = "1"
    description = "An image from a prompt, by a media model; the step waits without a worker."

    class input_schema(Schema):
        prompt = fields.String(required=True, validate=validate.Length(min=1, max=4000))
        width = fields.Integer(load_default=512, validate=validate.Range(min=16, max=4096))
        height = fields.Integer(load_default=512, validate=validate.Range(min=16, max=4096))
        model = fields.String(load_default="offline:image", validate=validate.Length(min=3, max=200))
        timeout = fields.Float(load_default=None, allow_none=True,
                               validate=validate.Range(min=0, min_inclusive=False, max=24 * 3600),
                               metadata={"description": "Seconds the generation may take"})
        params = fields.Dict(keys=fields.String(), load_default=dict,
                             metadata={"description": "Further parameters for the model (seed, style...)"})

    class output_schema(Schema):
        artifact_id = fields.String(required=True)
        model = fields.String(required=True)
        prompt = fields.String(required=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        params = {**inputs["params"], "prompt": inputs["prompt"], "width": inputs["width"],
                  "height": inputs["height"]}
        index = getattr(ctx, "candidate_index", 0)
        if index and isinstance(params.get("seed", 0), int):
            # Candidates of one step are different pictures, each one repeatable.
            params["seed"] = params.get("seed", 0) + index
        artifact_id = ctx.generate_media(inputs["model"], media_type="image", params=params,
                                         timeout=inputs["timeout"])
        return {"artifact_id": artifact_id, "model": inputs["model"], "prompt": inputs["prompt"]}
