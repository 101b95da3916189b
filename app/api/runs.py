"""Runs over JSON: start (idempotently), list, inspect, cancel, retry, select, regenerate,
branch, update, lineage, and the live event stream (Server-Sent Events)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, request, stream_with_context

from ..engine.progress import RunEvents
from ..engine.run_progress import attach_progress
from ..engine.service import Budget, RunView, caller_run_service
from ..errors import NotFoundError, ValidationError
from ..models import Run
from ..runtime import current_state, repositories
from ..schemas.base import page_of
from ..schemas.runs import (
    BranchSchema,
    EventsQuerySchema,
    InputChangesSchema,
    LineageSchema,
    ResumeSchema,
    RunCreateSchema,
    RunDetailSchema,
    RunQuerySchema,
    RunSchema,
    SelectionSchema,
)
from .blueprint import EnvelopeBlueprint
from .finished_runs import enveloped
from .revalidation import not_modified, run_cache_headers

blp = EnvelopeBlueprint("runs", __name__, url_prefix="/api/runs", description="Workflow runs")

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_EVENT_ID = re.compile(r"^(0|\d+-\d+)$")

SORTS = {
    "createdAt": Run.created_at.asc(), "-createdAt": Run.created_at.desc(),
    "updatedAt": Run.updated_at.asc(), "-updatedAt": Run.updated_at.desc(),
    "status": Run.status.asc(), "-status": Run.status.desc(),
}


def as_budget(body: dict[str, Any] | None) -> Budget | None:
    if not body or (body.get("tokens") is None and body.get("cost_usd") is None):
        return None
    return Budget(tokens=body.get("tokens"), cost_usd=body.get("cost_usd"))


def with_generation_jobs(view: RunView) -> RunView:
    """Give each step of a run's detail the generation jobs it started."""
    jobs = repositories().generation_jobs.of_steps([step.id for step in view.steps])
    for step in view.steps:
        step.generation_jobs = jobs.get(step.id, [])
    return view


def idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError(f"{IDEMPOTENCY_HEADER} is 1 to 200 visible ASCII characters.",
                              {"fields": {f"headers.{IDEMPOTENCY_HEADER}": ["Invalid key."]}})
    return key


@blp.route("", methods=["POST"])
@blp.arguments(RunCreateSchema)
@blp.response(202, RunDetailSchema)
def start_run(body: dict[str, Any]):
    """Start a run of a workflow. Send an ``Idempotency-Key`` header to make retries safe:
    the same key with the same body answers with the run it started the first time."""
    service = caller_run_service()
    service.authorize("create")
    entry = current_state().catalog.resolve(repositories(), body["workflow"], body.get("version"))
    run, created = service.start(entry, body.get("inputs"), idempotency_key(), request_body=body,
                                 budget=as_budget(body.get("budget")))
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return service.detail(run), 202, headers


@blp.route("")
@blp.arguments(RunQuerySchema, location="query")
@blp.response(200, page_of(RunSchema))
def list_runs(query: dict[str, Any]):
    """The tenant's runs, filtered and sorted (newest first by default), a page at a time."""
    caller_run_service().authorize("read")
    criteria = []
    if query.get("status"):
        criteria.append(Run.status == query["status"])
    if query.get("workflow"):
        criteria.append(Run.workflow_name == query["workflow"])
    if query.get("trigger_type"):
        criteria.append(Run.trigger_type == query["trigger_type"])
    if query.get("root_run_id"):
        criteria.append(Run.root_run_id == query["root_run_id"])
    repos = repositories()
    items, total = repos.runs.page(*criteria, order_by=[SORTS[query["sort"]], Run.id],
                                   limit=query["limit"], offset=query["offset"])
    return {"items": attach_progress(repos, items), "total": total, "limit": query["limit"], "offset": query["offset"]}


@blp.route("/<run_id>")
@blp.response(200, RunDetailSchema)
def get_run(run_id: str):
    """A run with every step: status, candidates, attempts, timings, cache hits, totals.

    A finished run carries an ETag: send it back in ``If-None-Match`` to get ``304 Not
    Modified`` while it stays as it was (a retry changes it). A live run is ``no-store``."""
    service = caller_run_service()
    service.authorize("read")
    # Its status and last change first: a finished run is then served from what this process
    # kept (finished_runs.py) or answered 304, without loading the run itself.
    fresh = service.repos.runs.freshness(run_id)
    if fresh is None:
        raise NotFoundError(f"No run with id {run_id} here.", {"id": str(run_id)})
    headers = run_cache_headers(fresh)
    unchanged = not_modified(headers)
    if unchanged is not None:
        return unchanged
    kept = current_state().finished_runs
    text = kept.get(headers["ETag"]) if "ETag" in headers else None
    if text is not None:
        return enveloped(text, headers)
    run = service.get(run_id)
    detail = with_generation_jobs(service.detail(run))
    if "ETag" in headers and run_cache_headers(run) == headers:  # still as it was read above
        return enveloped(kept.keep(headers["ETag"], RunDetailSchema().dump(detail)), headers)
    return detail, 200, run_cache_headers(run)


@blp.route("/<run_id>/cancel", methods=["POST"])
@blp.response(200, RunDetailSchema)
def cancel_run(run_id: str):
    """Stop the run: queued work at once, running skills at their next cancellation check."""
    service = caller_run_service()
    return with_generation_jobs(service.detail(service.cancel(run_id)))


@blp.route("/<run_id>/retry", methods=["POST"])
@blp.response(200, RunDetailSchema)
def retry_run(run_id: str):
    """Retry a failed or crashed run in place: its failed steps, and the steps skipped because
    of them, run again with a fresh attempt budget; completed steps keep their outputs. A run
    that completed, was cancelled or is still going answers 409 ``ILLEGAL_TRANSITION``."""
    service = caller_run_service()
    return with_generation_jobs(service.detail(service.retry(run_id)))


@blp.route("/<run_id>/resume", methods=["POST"])
@blp.arguments(ResumeSchema)
@blp.response(200, RunDetailSchema)
def resume_run(body: dict[str, Any], run_id: str):
    """Go on with a run paused because a model call could not be paid for (out of credits,
    or its budget); send ``budget`` to raise the cap first."""
    service = caller_run_service()
    return service.detail(service.resume(run_id, as_budget(body.get("budget"))))


@blp.route("/<run_id>/steps/<step_key>/select", methods=["POST"])
@blp.arguments(SelectionSchema)
@blp.response(200, RunDetailSchema)
def select_candidate(body: dict[str, Any], run_id: str, step_key: str):
    """Pick a candidate of a step awaiting selection, with feedback for the steps after it."""
    service = caller_run_service()
    return service.detail(service.select(run_id, step_key, body["index"], body.get("feedback")))


@blp.route("/<run_id>/steps/<step_key>/regenerate", methods=["POST"])
@blp.response(202, RunDetailSchema)
def regenerate_candidates(run_id: str, step_key: str):
    """Ask a step awaiting selection for more candidates; they join the ones it has."""
    service = caller_run_service()
    return service.detail(service.regenerate(run_id, step_key))


@blp.route("/<run_id>/branch", methods=["POST"])
@blp.arguments(BranchSchema)
@blp.response(202, RunDetailSchema)
def branch_run(body: dict[str, Any], run_id: str):
    """A new run from a step of this one, with changed inputs; earlier steps are reused."""
    service = caller_run_service()
    return service.detail(service.branch(run_id, body["step"], body.get("inputs")))


@blp.route("/<run_id>/update", methods=["POST"])
@blp.arguments(InputChangesSchema)
@blp.response(202, RunDetailSchema)
def update_run(body: dict[str, Any], run_id: str):
    """Re-run with edited inputs: only steps whose input hash changed execute."""
    service = caller_run_service()
    return service.detail(service.update(run_id, body.get("inputs")))


@blp.route("/<run_id>/lineage")
@blp.response(200, LineageSchema)
def run_lineage(run_id: str):
    """The whole family of a run: the first run, its branches and its updates, oldest first."""
    service = caller_run_service()
    runs = attach_progress(service.repos, service.lineage(run_id))
    return {"root_run_id": runs[0].root_run_id, "runs": runs}


@blp.route("/<run_id>/events")
@blp.arguments(EventsQuerySchema, location="query")
@blp.doc(responses={"200": {"description": "The run's progress as Server-Sent Events; the stream ends with an "
                                           "'end' event once the run has finished.",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def run_events(query: dict[str, Any], run_id: str):
    """Live progress as Server-Sent Events, resumable with ``Last-Event-ID``."""
    run = caller_run_service().get(run_id)
    after = request.headers.get("Last-Event-ID") or query.get("after") or "0"
    if not _EVENT_ID.match(after):
        raise ValidationError("Last-Event-ID is not an event id of this stream.",
                              {"fields": {"headers.Last-Event-ID": ["Expected an id such as 1700000000000-0."]}})
    tenant_id, run_key = run.tenant_id, run.id
    state = current_state()
    events = RunEvents(state.redis.client())

    def finished() -> bool:
        repos = repositories(tenant_id)
        status = repos.runs.status_of(run_key)
        repos.transaction().end_read()  # no transaction stays open while the stream waits
        return status is None or status.is_terminal

    def stream():
        yield "retry: 2000\n\n"
        if query["follow"]:
            source = events.follow(run_key, after, finished, state.progress_hub(),
                                   block_ms=query["keepalive"] * 1000)
        else:
            source = events.replay(run_key, after)
        for event in source:
            if event is None:
                yield ": keep-alive\n\n"
                continue
            event_id, kind, data = event
            yield f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, default=str)}\n\n"
        if query["follow"]:
            yield "event: end\ndata: {}\n\n"

    repositories().transaction().end_read()
    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
