"""Deterministic skills for tests, benchmarks and trying the engine with no model at all.

``test.echo`` answers from its inputs alone (the same inputs and candidate give the same
output, on every machine) and has knobs to behave like real work: take time (checking for
cancellation and reporting progress), fail its first attempts, produce an artifact, or
return output its own schema refuses. ``test.noop`` does nothing, as fast as it can.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from ..toolkit import Schema, Skill, StepContext, fields, validate


class TransientFailure(Exception):
    """A failure the step's retry policy should retry."""

    retryable = True
    code = "TRANSIENT_FAILURE"


class Echo(Skill):
    name = "test.echo"
    version = "1"
    description = "Deterministic output from its inputs; can sleep, fail, make artifacts."

    class input_schema(Schema):
        text = fields.Raw(load_default="")
        sleep = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=3600))
        fail_until_attempt = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))
        #: Fail the step's first executions, whatever its attempts (a failure a run retry outlives).
        fail_until_execution = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))
        artifact = fields.String(load_default=None, allow_none=True)
        invalid_output_until_attempt = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100))
        extra = fields.Raw(load_default=None, allow_none=True)

    class output_schema(Schema):
        text = fields.Raw(required=True)
        digest = fields.String(required=True)
        candidate = fields.Integer(required=True)
        artifact_id = fields.String(load_default=None, allow_none=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        index = getattr(ctx, "candidate_index", 0)
        if inputs["sleep"]:
            deadline = time.monotonic() + inputs["sleep"]
            while (left := deadline - time.monotonic()) > 0:
                ctx.check_cancelled()
                ctx.report_progress(1 - left / inputs["sleep"], "working")
                time.sleep(min(0.05, left))
        attempt = getattr(ctx, "attempt", 1)
        if attempt < inputs["fail_until_attempt"]:
            raise TransientFailure(f"failing on purpose until attempt {inputs['fail_until_attempt']}")
        if getattr(ctx, "execution", 1) < inputs["fail_until_execution"]:
            raise TransientFailure(f"failing on purpose until execution {inputs['fail_until_execution']}")
        artifact_id = None
        if inputs["artifact"] is not None:
            artifact_id = ctx.store_artifact(inputs["artifact"].encode("utf-8"), media_type="text/plain",
                                             filename="echo.txt")
        seed = json.dumps([inputs["text"], inputs["extra"], index], sort_keys=True, default=str)
        output = {"text": inputs["text"] if index == 0 else f"{inputs['text']} (candidate {index + 1})",
                  "digest": hashlib.sha256(seed.encode()).hexdigest()[:16], "candidate": index,
                  "artifact_id": artifact_id}
        if attempt < inputs["invalid_output_until_attempt"]:
            output.pop("digest")
        return output


class Noop(Skill):
    name = "test.noop"
    version = "1"
    description = "Does nothing; measures the engine's own overhead."

    class input_schema(Schema):
        n = fields.Raw(load_default=None, allow_none=True)

    class output_schema(Schema):
        ok = fields.Boolean(required=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}
