"""``agent.review``: what a workflow step ``agent: <name>`` runs.

The step reviews its own run: the texts the run's completed steps wrote so far (the core's
``inkwright.run`` subject). It records an agent run like any other (its row, its metered
calls, its results) and makes the try in the step's own job, so the step's retry policy is
the one that applies; the step's output is the run's results, with its id.
"""

from __future__ import annotations

from typing import Any

from ..toolkit import AppError, Schema, Skill, StepContext, fields, validate


class AgentReviewFailed(AppError):
    code = "AGENT_RUN_FAILED"
    status_code = 502


class AgentReview(Skill):
    name = "agent.review"
    version = "1"
    description = "Run a review agent over the run's texts so far (a step written `agent: <name>`)."

    class input_schema(Schema):
        agent = fields.String(required=True, validate=validate.Length(min=1, max=50))
        model = fields.String(load_default=None, allow_none=True)
        priority = fields.Integer(load_default=5, validate=validate.Range(min=1, max=10))

    class output_schema(Schema):
        agent_run_id = fields.String(required=True)
        issues = fields.List(fields.Dict(), required=True)
        stats = fields.Dict(required=True)
        model_info = fields.Dict(required=True)
        summary = fields.String(allow_none=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        from ..agent_runs.execution import AgentRunTry
        from ..agent_runs.service import AgentRunService
        from ..agent_runs.subjects import RUN_KIND

        run = getattr(ctx, "run", None)
        repos, state = getattr(ctx, "repos", None), getattr(ctx, "state", None)
        if run is None or repos is None or state is None:
            raise AppError("An agent step runs inside a workflow run.")
        service = AgentRunService(repos, state)
        agent_run = service.start(subject_kind=RUN_KIND, subject_id=run.id, agent_type=inputs["agent"],
                                  trigger_ref=f"step:{ctx.step_key}", priority=inputs["priority"],
                                  user_id=run.created_by_user_id, model=inputs.get("model"), enqueue=False)
        status = AgentRunTry(repos, state, inline=True).run(agent_run.id)
        done = service.get(agent_run.id)
        if status != "completed":
            raise AgentReviewFailed(f"The {inputs['agent']} agent did not finish: {done.error_message or status}.",
                                    {"agentRunId": str(done.id), "code": done.error_code})
        return {"agent_run_id": str(done.id), **(done.results or {}), "summary": done.summary}
