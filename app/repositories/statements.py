"""Prepared Core statements of the engine's hot path, built once and reused.

A step's job runs the same few statements every time: claim the step, lock the run,
move the step, record the attempt, write the run back. Building a statement object (and
its cache key) costs more than SQLite takes to run it, so each shape is built once, with
bound parameters, and executed on the session's connection.

A statement a tenant's repository runs starts from :func:`~.base.prepared_update` or
:func:`~.base.prepared_select`, whose ``tenant_id = :b_tenant_id`` that repository's
``execute_prepared`` binds; the claim and its read-back run before the tenant is known, for
:class:`~.runs.RunStepLocator` (system scope).
"""

from __future__ import annotations

import functools

from sqlalchemy import Update, bindparam, func, select

from ..models import Run, RunStep, StepAttempt
from ..statuses import StepStatus
from .base import prepared_select, prepared_update

STEPS = RunStep.__table__
RUNS = Run.__table__
ATTEMPTS = StepAttempt.__table__

#: The run columns read under the lock: all but the (large, immutable) definition.
RUN_COLUMNS = tuple(column for column in RUNS.c if column.name != "definition")


@functools.lru_cache(maxsize=None)
def claim_step(returning: bool):
    """queued → running for one job, one attempt more (parameters: b_step_id, b_job_id, b_worker, b_now)."""
    statement = (
        STEPS.update()
        .where(STEPS.c.id == bindparam("b_step_id"), STEPS.c.status == StepStatus.QUEUED,
               STEPS.c.job_id == bindparam("b_job_id"))
        .values(status=StepStatus.RUNNING, attempt=STEPS.c.attempt + 1,
                executions=STEPS.c.executions + 1, worker_name=bindparam("b_worker"),
                heartbeat_at=bindparam("b_now"), attempt_started_at=bindparam("b_now"), updated_at=bindparam("b_now"),
                started_at=func.coalesce(STEPS.c.started_at, bindparam("b_now")))
    )
    return statement.returning(*STEPS.c) if returning else statement


@functools.lru_cache(maxsize=None)
def read_step():
    return select(*STEPS.c).where(STEPS.c.id == bindparam("b_step_id"))


@functools.lru_cache(maxsize=None)
def lock_run(returning: bool):
    """Touch the run row to take its lock (parameters: b_run_id, b_now)."""
    statement = prepared_update(RUNS).where(RUNS.c.id == bindparam("b_run_id")).values(updated_at=bindparam("b_now"))
    return statement.returning(*RUN_COLUMNS) if returning else statement


@functools.lru_cache(maxsize=None)
def read_run():
    """The run as :func:`lock_run` left it, where UPDATE … RETURNING is missing (parameters: b_run_id)."""
    return prepared_select(RUNS, *RUN_COLUMNS).where(RUNS.c.id == bindparam("b_run_id"))


@functools.lru_cache(maxsize=None)
def run_freshness():
    """What a cached read of the run depends on: its status and last change (parameters: b_run_id)."""
    return prepared_select(RUNS, RUNS.c.id, RUNS.c.status, RUNS.c.updated_at).where(RUNS.c.id == bindparam("b_run_id"))


@functools.lru_cache(maxsize=512)
def write_run(columns: tuple[str, ...]) -> Update:
    """Write these columns of a run back (parameters: b_run_id, and set_<column> for each)."""
    return (prepared_update(RUNS).where(RUNS.c.id == bindparam("b_run_id"))
            .values({name: bindparam(f"set_{name}") for name in columns}))


@functools.lru_cache(maxsize=512)
def move_step(columns: tuple[str, ...], by_job: bool, by_execution: bool) -> Update:
    """Conditionally change a step (parameters: b_step_id, expected (a list),
    optionally b_job_id and at_execution, and set_<column> for each)."""
    criteria = [STEPS.c.id == bindparam("b_step_id"), STEPS.c.status.in_(bindparam("expected", expanding=True))]
    if by_job:
        criteria.append(STEPS.c.job_id == bindparam("b_job_id"))
    if by_execution:
        criteria.append(STEPS.c.executions == bindparam("at_execution"))
    return prepared_update(STEPS).where(*criteria).values({name: bindparam(f"set_{name}") for name in columns})


@functools.lru_cache(maxsize=None)
def insert_attempt():
    """One attempt row (parameters: p_<column> for each)."""
    names = ("id", "tenant_id", "run_step_id", "number", "regeneration", "outcome", "worker_name", "job_id", "error",
             "started_at", "ended_at", "duration_ms")
    return ATTEMPTS.insert().values({name: bindparam(f"p_{name}") for name in names})
