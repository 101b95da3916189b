"""Runs, their steps, attempts and candidates; the bodies that start and steer them."""

from __future__ import annotations

from marshmallow import fields, validate

from ..engine.run_progress import progress_of
from ..errors import public_error
from ..models import AttemptOutcome, GenerationStatus, TriggerType, UsageSource
from ..statuses import RunStatus, StepStatus
from .base import POSITIVE_MONEY_PATTERN, ApiSchema, Money, PageQuerySchema

STEP_KEY = validate.Length(min=1, max=100)


#: A recorded error as clients see it: its envelope ``code`` and message, no class name or traceback.
ERROR_DOC = {"description": "The error's envelope: code and message (and what was recorded with them)"}


def error_field() -> fields.Function:
    return fields.Function(lambda row: public_error(row.error), allow_none=True, metadata=ERROR_DOC)


class AttemptSchema(ApiSchema):
    number = fields.Integer(required=True)
    outcome = fields.Enum(AttemptOutcome, by_value=True, required=True)
    regeneration = fields.Boolean(dump_default=False, metadata={
        "description": "This execution asked for more candidates; it spends no attempt of the retry budget"})
    worker_name = fields.String(allow_none=True)
    error = error_field()
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)


class CandidateSchema(ApiSchema):
    index = fields.Integer(required=True)
    model = fields.String(allow_none=True)
    output = fields.Raw(allow_none=True)
    artifact_ids = fields.List(fields.String(), data_key="artifactIds")
    offline = fields.Boolean(dump_default=False, metadata={"description": "Made by the offline provider: "
                                                                         "synthetic text, not a real model's"})
    created_at = fields.String(data_key="createdAt")


class AIResponseSchema(ApiSchema):
    """One model call's answer (seed 001's AIResponse)."""

    id = fields.UUID(required=True)
    candidate_index = fields.Integer(allow_none=True)
    attempt = fields.Integer(allow_none=True)
    model = fields.String(attribute="model_name", required=True)
    resolved_model = fields.String(allow_none=True)
    provider = fields.String(required=True)
    prompt = fields.String(attribute="prompt_used")
    raw_output = fields.String()
    processed_content = fields.String(allow_none=True)
    finish_reason = fields.String(allow_none=True)
    tokens_input = fields.Integer()
    tokens_output = fields.Integer()
    tokens_total = fields.Integer()
    usage_source = fields.Enum(UsageSource, by_value=True,
                               metadata={"description": "reported by the server, counted with the model's "
                                         "tokenizer, or estimated from the text"})
    cost_usd = Money()
    processing_ms = fields.Integer()
    quality_score = fields.Float(allow_none=True)
    byok = fields.Boolean()
    offline = fields.Boolean(metadata={"description": "Synthetic output of the offline provider"})
    created_at = fields.DateTime()


class BudgetSchema(ApiSchema):
    tokens = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=10**12))
    cost_usd = Money(allow_none=True, load_default=None, places=6, metadata={"pattern": POSITIVE_MONEY_PATTERN},
                     validate=validate.Range(min=0, min_inclusive=False, max=10**6))


class GenerationJobSchema(ApiSchema):
    """An asynchronous media generation a step started at a provider (seed 004's GenerationJob)."""

    id = fields.UUID(required=True)
    provider = fields.String(attribute="provider_id", required=True)
    model = fields.String(attribute="model_name", required=True)
    provider_job_id = fields.String(allow_none=True)
    media_type = fields.String(required=True)
    status = fields.Enum(GenerationStatus, by_value=True, required=True)
    attempts = fields.Integer(required=True, metadata={"description": "Polls of the provider so far"})
    poll_interval_ms = fields.Integer(required=True)
    timeout_ms = fields.Integer(required=True)
    input_params = fields.Dict(metadata={"description": "The parameters sent to the provider"})
    artifact_id = fields.UUID(allow_none=True)
    result_uri = fields.String(allow_none=True)
    error = fields.String(attribute="error_message", allow_none=True)
    cost_usd = Money(allow_none=True)
    next_poll_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)


class StepSchema(ApiSchema):
    id = fields.UUID(required=True)
    key = fields.String(attribute="step_key", required=True, metadata={"description": "e.g. outline or chapters[2]"})
    step_id = fields.String(required=True)
    fan_index = fields.Integer(allow_none=True)
    skill = fields.String(required=True)
    skill_version = fields.String(allow_none=True)
    status = fields.Enum(StepStatus, by_value=True, required=True)
    inputs = fields.Raw(allow_none=True)
    input_hash = fields.String(allow_none=True)
    output = fields.Raw(allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema))
    user_selection = fields.Integer(allow_none=True)
    user_feedback = fields.String(allow_none=True)
    merged_content = fields.String(allow_none=True)
    output_artifact_ids = fields.List(fields.String())
    attempt = fields.Integer(required=True, metadata={"description": "Attempts of the retry budget spent so far "
                                                                     "(regenerations spend none)"})
    max_attempts = fields.Integer(required=True)
    executions = fields.Integer(dump_default=0, metadata={"description": "Times a worker ran the step, "
                                                                         "regenerations included"})
    regenerations = fields.Integer(dump_default=0, metadata={"description": "Times a person asked for more "
                                                                            "candidates"})
    waiting_ms = fields.Integer(dump_default=0, metadata={"description": "Time spent waiting for a person "
                                                                         "to choose (not in durationMs)"})
    attempts = fields.List(fields.Nested(AttemptSchema))
    generation_jobs = fields.List(fields.Nested(GenerationJobSchema),
                                  metadata={"description": "Media generations the step started, oldest first"})
    cache_hit = fields.Boolean(required=True)
    reused_from_step_id = fields.UUID(allow_none=True)
    error = error_field()
    progress = fields.Float()
    progress_message = fields.String(allow_none=True)
    tokens_input = fields.Integer()
    tokens_output = fields.Integer()
    cost_usd = Money()
    model_calls = fields.Integer()
    responses = fields.List(fields.Nested(AIResponseSchema))
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True, metadata={"description": "Machine time: the wait for a "
                                                                           "person is in waitingMs"})


class RunProgressSchema(ApiSchema):
    """A run's steps by what happened to them; ``fraction`` counts completed steps only, so a
    failed run never reads as done."""

    completed = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    waiting = fields.Integer(required=True, metadata={"description": "Awaiting a person's selection, or "
                                                                     "waiting on a generation job"})
    running = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    remaining = fields.Integer(required=True, metadata={"description": "Not started yet"})
    total = fields.Integer(required=True, metadata={"description": "Steps counted (a fanned-out step counts "
                                                                   "as its items)"})
    fraction = fields.Float(required=True, metadata={"description": "Completed steps / total, 0 to 1"})
    finished = fields.Boolean(required=True, metadata={"description": "The run has ended, one way or another"})
    succeeded = fields.Boolean(required=True, metadata={"description": "The run completed"})
    label = fields.String(required=True, metadata={"description": 'e.g. "failed: 1 failed, 3 skipped"'})


class SavingsSchema(ApiSchema):
    """What cache hits and reused steps saved: calls not made again, their tokens and cost."""

    calls = fields.Integer(attribute="saved_calls")
    tokens = fields.Integer(attribute="saved_tokens")
    cost_usd = Money(attribute="saved_cost_usd")


class RunSchema(ApiSchema):
    id = fields.UUID(required=True)
    workflow = fields.String(attribute="workflow_name", required=True)
    version = fields.String(attribute="workflow_version", required=True)
    status = fields.Enum(RunStatus, by_value=True, required=True)
    trigger_type = fields.Enum(TriggerType, by_value=True, required=True)
    inputs = fields.Dict(required=True)
    parent_run_id = fields.UUID(allow_none=True)
    branch_point = fields.String(allow_none=True)
    base_run_id = fields.UUID(allow_none=True)
    root_run_id = fields.UUID(required=True)
    error = error_field()
    pause_reason = fields.String(allow_none=True)
    progress = fields.Function(lambda run: RunProgressSchema().dump(progress_of(run).as_dict()), required=True,
                               metadata={"description": "Completed, failed, skipped, waiting, running and "
                                                        "remaining steps, apart"})
    steps_total = fields.Integer(required=True, metadata={"description": "Step rows, a fanned-out parent "
                                                                         "included"})
    steps_done = fields.Integer(required=True, metadata={"description": "Steps that ended (completed, failed "
                                                                        "or skipped): see progress"})
    cache_hits = fields.Integer(required=True)
    steps_reused = fields.Integer(required=True)
    tokens_input = fields.Integer(required=True)
    tokens_output = fields.Integer(required=True)
    cost_usd = Money(required=True)
    model_calls = fields.Integer()
    budget = fields.Method("dump_budget")
    saved = fields.Function(lambda run: SavingsSchema().dump(run))
    created_by_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)


    def dump_budget(self, run) -> dict | None:
        if run.budget_tokens is None and run.budget_cost_usd is None:
            return None
        return BudgetSchema().dump({"tokens": run.budget_tokens, "cost_usd": run.budget_cost_usd})


class RunDetailSchema(RunSchema):
    steps = fields.List(fields.Nested(StepSchema), required=True)


class RunQuerySchema(PageQuerySchema):
    status = fields.Enum(RunStatus, by_value=True, load_default=None)
    workflow = fields.String(load_default=None, validate=validate.Length(max=100))
    trigger_type = fields.Enum(TriggerType, by_value=True, load_default=None)
    root_run_id = fields.UUID(load_default=None)
    sort = fields.String(load_default="-createdAt", validate=validate.OneOf(
        ["createdAt", "-createdAt", "updatedAt", "-updatedAt", "status", "-status"]))


class RunCreateSchema(ApiSchema):
    workflow = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    inputs = fields.Dict(load_default=dict)
    budget = fields.Nested(BudgetSchema, load_default=None, allow_none=True,
                           metadata={"description": "The most the run may spend; a call that would pass it "
                                                    "pauses the run"})


class ResumeSchema(ApiSchema):
    budget = fields.Nested(BudgetSchema, load_default=None, allow_none=True,
                           metadata={"description": "A new cap, when the run paused on its budget"})


class InputChangesSchema(ApiSchema):
    inputs = fields.Dict(load_default=dict, metadata={"description": "Inputs to change; the rest are kept"})


class BranchSchema(InputChangesSchema):
    step = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "The step to branch from (it and what follows run again)"})


class SelectionSchema(ApiSchema):
    index = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))
    feedback = fields.String(load_default=None, validate=validate.Length(max=20_000))


class EventsQuerySchema(ApiSchema):
    after = fields.String(load_default=None, validate=validate.Regexp(r"^(0|\d{1,20}-\d{1,20})$"),
                          metadata={"description": "Resume after this event id (or send Last-Event-ID)"})
    follow = fields.Boolean(load_default=True, metadata={"description": "Keep the stream open until the run ends"})
    keepalive = fields.Integer(load_default=15, validate=validate.Range(min=1, max=60))


class LineageSchema(ApiSchema):
    root_run_id = fields.UUID(required=True)
    runs = fields.List(fields.Nested(RunSchema), required=True)
