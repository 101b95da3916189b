"""RQ job functions: ids in, core calls out. Enqueued by dotted path (``app.jobs.…``).

A job runs inside the worker's app context (see :mod:`app.workers`) and depends on nothing
request-scoped: no ``current_user``, no ``g`` from a request.
"""

from __future__ import annotations

import logging

from flask import current_app
from rq import get_current_job

from .engine.executor import StepExecutor, dispatch
from .engine.generation.poller import GenerationPoller
from .engine.reconciler import Reconciler
from .errors import NotFoundError
from .events import DomainEvent
from .models.base import utcnow
from .retention import purge
from .runtime import current_state, repositories

log = logging.getLogger(__name__)


def recorded_event(event_id: str) -> DomainEvent:
    """A committed event as it was published, from the event log (a job gets only its id).

    :raises NotFoundError: when the event is not recorded (its transaction never committed).
    """
    record = repositories().get_event_record(event_id)
    if record is None:
        raise NotFoundError(f"No recorded event {event_id}.")
    return DomainEvent(
        type=record.type, aggregate_id=record.aggregate_id, payload=record.payload, tenant_id=record.tenant_id,
        actor_id=record.actor_user_id, id=record.id, timestamp=record.occurred_at, version=record.version,
    )


def deliver_event(event_id: str) -> dict:
    """Run the background handlers of one recorded domain event.

    :returns: how many handlers ran and the names of those that failed.
    :raises NotFoundError: when the event is not recorded (its transaction never committed).
    """
    event = recorded_event(event_id)
    bus = current_state().events
    handlers = [s for s in bus.subscriptions(event.type) if s.background]
    failed = bus.dispatch(event, background=True)
    return {"event": event_id, "handlers": len(handlers), "failed": failed}


def run_step(step_id: str) -> dict:
    """Execute one step of a run (claim, cache, attempt, finish): see app.engine.executor."""
    return StepExecutor(current_state()).run(step_id)


def poll_generation(generation_job_id: str) -> dict:
    """Ask a generation job's provider how it is going; store its result and wake its step
    once it has ended (see app.engine.generation). A poll the job does not expect does nothing."""
    job = get_current_job()
    return GenerationPoller(current_state(), dispatch).poll(generation_job_id, job.id if job else None)


def run_agent(tenant_id: str, agent_run_id: str) -> str:
    """One try of a review agent's run (app/agent_runs/execution.py); the status it left."""
    from .agent_runs.execution import run_agent_try

    return run_agent_try(tenant_id, agent_run_id)


def run_export(tenant_id: str, export_job_id: str) -> str:
    """An export's job (app/exports/execution.py): the book rendered and stored; its status."""
    from .exports.execution import run_export_try

    return run_export_try(tenant_id, export_job_id)


def reconcile() -> dict:
    """One reconciler pass: lost workers, lost jobs and polls, stuck runs (see app.engine.reconciler)."""
    state = current_state()
    report = Reconciler(state, stale_after=current_app.config["STEP_STALE_AFTER"]).run()
    from .agent_runs.execution import sweep  # agent runs: rule 3's limit and lost jobs
    from .exports.execution import sweep as sweep_exports  # exports a worker or Redis lost

    return {**report.as_dict(), "agentRuns": sweep(), "exports": sweep_exports()}


def purge_expired_sessions() -> int:
    """Delete API sessions whose refresh token lapsed (seed 000's SessionRepository.cleanup)."""
    repos = repositories()
    with repos.transaction():
        removed = repos.auth_sessions.delete_expired(utcnow())
    log.info("purged %d expired API sessions", removed)
    return removed


def roll_credit_periods() -> int:
    """Start the new period of every credit account whose period ended (the
    ``credits.rollover`` schedule; a call also rolls its own account when it comes)."""
    repos = repositories()
    rolled = 0
    while True:
        with repos.transaction():
            batch = repos.credit_accounts.roll_due(current_state().clock.now())
        rolled += batch
        if batch < 500:
            break
    log.info("rolled %d credit periods", rolled)
    return rolled


def purge_retained() -> dict:
    """Apply the retention rules (the ``retention.purge`` schedule; see app.retention)."""
    return purge(repositories(), current_state().clock.now()).as_dict()
