"""One-off model calls over JSON, metered exactly like a step's (seed 003's "manual" usage).

Handy for trying a model or a key; it answers 402 ``PAYMENT_REQUIRED`` before anything is
sent when the caller's credits cannot cover the call.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..auth.principal import current_principal
from ..engine.metering import CallMeter
from ..engine.model_access import billing_user_id
from ..provider import CompletionRequest
from ..schemas.completions import CompletionCreateSchema, CompletionResultSchema
from ..runtime import current_state, repositories
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("completions", __name__, url_prefix="/api/completions",
                        description="One-off metered model calls")


@blp.route("", methods=["POST"])
@blp.arguments(CompletionCreateSchema)
@blp.response(200, CompletionResultSchema)
def create_completion(body: dict[str, Any]):
    """Call a model once: recorded as an AI response and a usage-log row, paid by your
    credits (or your own key), exactly like a workflow step's call."""
    principal = current_principal()
    principal.require("runs", "create")
    repos = repositories()
    model = body["model"] or current_app.config["DEFAULT_MODEL"]
    messages = body["messages"] or [{"role": "user", "content": body["prompt"]}]
    if body["system"]:
        messages = [{"role": "system", "content": body["system"]}, *messages]
    request = CompletionRequest(model=model, messages=tuple(messages), temperature=body["temperature"],
                                max_tokens=body["max_tokens"], json_schema=body["json_schema"])
    payer = principal.user_id or billing_user_id(repos, None)
    meter = CallMeter(current_state(), repos, payer=payer, context_type="manual")
    return meter.complete(model, request)
