"""Review agents and their runs: ``GET /api/agents`` and ``/api/agent-runs``."""

from __future__ import annotations

from typing import Any

from ..agent_runs import agent_run_service
from ..agent_runs.subjects import subject_kinds
from ..auth.principal import current_principal
from ..runtime import current_state
from ..schemas.agent_runs import AgentListSchema, AgentRunCreateSchema, AgentRunQuerySchema, AgentRunSchema
from ..schemas.base import page_of
from .blueprint import EnvelopeBlueprint

agents_blp = EnvelopeBlueprint("agents", __name__, url_prefix="/api/agents", description="Installed review agents")
blp = EnvelopeBlueprint("agent_runs", __name__, url_prefix="/api/agent-runs",
                        description="Runs of review agents over a subject (seed 003 agent runs)")


@agents_blp.route("")
@agents_blp.response(200, AgentListSchema)
def list_agents():
    """The review agents installed, and the kinds of subject they can review."""
    current_principal().require("runs", "read")
    registry = current_state().registry
    items = [{"name": name, "version": agent.version, "description": agent.description or "",
              "categories": list(agent.categories)} for name, agent in sorted(registry.agents.items())]
    return {"items": items, "subject_kinds": sorted(subject_kinds(registry))}


@blp.route("", methods=["POST"])
@blp.arguments(AgentRunCreateSchema)
@blp.response(202, AgentRunSchema)
def start_agent_run(body: dict[str, Any]):
    """Queue a run of an agent over a subject; it runs on a worker, by its priority."""
    current_principal().require("runs", "create")
    return agent_run_service().start(subject_kind=body["subject_kind"], subject_id=body["subject_id"],
                                     agent_type=body["agent_type"], trigger=body["trigger"],
                                     trigger_ref=body.get("trigger_ref"), priority=body["priority"],
                                     model=body.get("model"))


@blp.route("")
@blp.arguments(AgentRunQuerySchema, location="query")
@blp.response(200, page_of(AgentRunSchema))
def list_agent_runs(query: dict[str, Any]):
    """The tenant's agent runs, newest first; filter by subject, agent, status and trigger."""
    current_principal().require("runs", "read")
    items, total = agent_run_service().page(
        subject_kind=query.get("subject_kind"), subject_id=query.get("subject_id"),
        agent_type=query.get("agent_type"), status=query.get("status"), trigger=query.get("trigger"),
        limit=query["limit"], offset=query["offset"])
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


@blp.route("/<run_id>")
@blp.response(200, AgentRunSchema)
def get_agent_run(run_id: str):
    current_principal().require("runs", "read")
    return agent_run_service().get(run_id)


@blp.route("/<run_id>/cancel", methods=["POST"])
@blp.response(200, AgentRunSchema)
def cancel_agent_run(run_id: str):
    """Cancel a queued or running run; a finished one is 409 ``ILLEGAL_TRANSITION``."""
    current_principal().require("runs", "create")
    return agent_run_service().cancel(run_id)
