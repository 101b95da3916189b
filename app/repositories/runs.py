"""Runs, steps, attempts, the step cache, artifacts, idempotency keys, workflow versions."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import Row, delete, func, select, update

from ..errors import NotFoundError
from ..models import Artifact, IdempotencyKey, Run, RunStep, StepAttempt, StepCacheEntry, WorkflowVersion, utcnow
from ..statuses import RunStatus, StepStatus, check_step_move
from . import statements
from .base import ScopedRepository, SystemRepository, as_uuid, operation
from .records import RunRecord, StepRecord, remember

#: What a new step row holds until something sets it (the model's defaults, spelled out
#: so a record inserted by Core carries them in memory too).
STEP_DEFAULTS: dict[str, Any] = {
    "fan_index": None, "is_fan_out": False, "skill_version": None, "waiting_on": 0, "inputs": None,
    "input_hash": None, "output": None, "candidates": [], "user_selection": None, "user_feedback": None,
    "merged_content": None, "output_artifact_ids": [], "attempt": 0, "max_attempts": 1, "executions": 0,
    "regenerations": 0, "waiting_ms": 0, "cache_hit": False,
    "reused_from_step_id": None, "error": None, "job_id": None, "worker_name": None, "heartbeat_at": None,
    "attempt_started_at": None, "next_attempt_at": None, "progress": 0.0, "progress_message": None,
    "tokens_input": 0, "tokens_output": 0, "cost_usd": Decimal("0"), "model_calls": 0, "started_at": None,
    "ended_at": None, "duration_ms": None,
}


class RunRepository(ScopedRepository[Run]):
    model = Run

    @operation
    def lock(self, run_id: uuid.UUID) -> RunRecord | None:
        """Take the run's row lock for this transaction (serialises every change to one run)
        and read the run as it is now. Use :meth:`locked`, which also writes changes back.

        An UPDATE rather than ``SELECT … FOR UPDATE``: SQLite has no row locks, but its
        first write of a transaction takes the database write lock, which serialises the
        same way, and what is read afterwards is current on both databases.
        """
        connection = self.session.connection()
        returning = connection.dialect.update_returning  # PostgreSQL, SQLite 3.35+: one round trip
        found = self.execute_prepared(statements.lock_run(returning), {"b_run_id": run_id, "b_now": utcnow()})
        row = found.first() if returning else self.execute_prepared(statements.read_run(), {"b_run_id": run_id}).first()
        return RunRecord(dict(row._mapping)) if row is not None else None

    @operation
    def freshness(self, run_id: Any) -> Any:
        """The run's id, status and ``updated_at`` — all an ETag needs — or ``None`` when it is
        not in this tenant; one small read, so a finished run's kept detail is served fast."""
        key = as_uuid(run_id)
        if key is None:
            return None
        return self.execute_prepared(statements.run_freshness(), {"b_run_id": key}).first()

    @contextmanager
    def locked(self, run_id: uuid.UUID) -> Iterator[RunRecord]:
        """``with repos.runs.locked(run_id) as run:`` — the run under its lock; what the block
        changes on it is written back when the block ends (inside the caller's transaction).

        :raises NotFoundError: when the run is not in this tenant.
        """
        run = self.lock(run_id)
        if run is None:
            raise NotFoundError(f"No run with id {run_id} here.", {"id": str(run_id)})
        yield run
        if run.changes:
            self.write_back(run_id, run)

    @operation
    def write_back(self, run_id: uuid.UUID, run: RunRecord) -> None:
        """Write what a locked block changed on its run (an operation of its own, so a database
        gone away here is a ``DatabaseUnavailableError`` like anywhere else, which the step's
        job waits out, not a raw driver error that would end the job and strand its step)."""
        columns = tuple(sorted(run.changes))
        params = {f"set_{name}": run.changes[name] for name in columns}
        self.execute_prepared(statements.write_run(columns), {"b_run_id": run_id, **params})
        run.changes.clear()

    @operation
    def definition_of(self, run_id: uuid.UUID) -> dict:
        return self.session.scalar(self.core_select(Run.definition).where(Run.id == run_id))

    @operation
    def status_of(self, run_id: uuid.UUID) -> RunStatus | None:
        return self.session.scalar(self.core_select(Run.status).where(Run.id == run_id))

    @operation
    def add_usage(self, run_id: uuid.UUID, tokens_input: int, tokens_output: int, cost_usd: Decimal) -> None:
        """Count one model call into the run's totals, atomically (steps of a run call at once)."""
        self.session.execute(self.update_where(Run.id == run_id).values(
            tokens_input=Run.tokens_input + tokens_input, tokens_output=Run.tokens_output + tokens_output,
            cost_usd=Run.cost_usd + cost_usd, model_calls=Run.model_calls + 1,
        ).execution_options(synchronize_session=False))

    @operation
    def spending(self, run_id: uuid.UUID) -> tuple[int, Decimal, int | None, Decimal | None]:
        """What the run has spent so far and its caps: (tokens, cost, budget tokens, budget cost)."""
        row = self.session.execute(
            self.core_select(Run.tokens_input + Run.tokens_output, Run.cost_usd, Run.budget_tokens, Run.budget_cost_usd)
            .where(Run.id == run_id)).one()
        return int(row[0] or 0), Decimal(row[1] or 0), row[2], row[3]

    @operation
    def snapshot_of(self, run_id: uuid.UUID) -> Row | None:
        """What never changes about a run (id, tenant, workflow, lineage, inputs, definition,
        creator), for :class:`app.engine.definitions.DefinitionCache`; ``None`` when the run
        is not in this tenant."""
        return self.session.execute(
            self.core_select(Run.id, Run.tenant_id, Run.workflow_name, Run.root_run_id, Run.inputs, Run.definition,
                             Run.created_by_user_id).where(Run.id == run_id)).first()

    @operation
    def family(self, root_run_id: uuid.UUID) -> list[Run]:
        return self.list(Run.root_run_id == root_run_id, order_by=[Run.created_at])


class RunStepRepository(ScopedRepository[RunStep]):
    model = RunStep

    @operation
    def of_run(self, run_id: uuid.UUID) -> list[RunStep]:
        return self.list(RunStep.run_id == run_id, order_by=[RunStep.position, RunStep.fan_index])

    @operation
    def by_keys(self, run_id: uuid.UUID, keys: Iterable[str]) -> dict[str, RunStep]:
        keys = list(keys)
        if not keys:
            return {}
        rows = self.session.scalars(self.select(RunStep.run_id == run_id, RunStep.step_key.in_(keys))
                                    .execution_options(populate_existing=True))
        return {row.step_key: row for row in rows}

    @operation
    def by_key(self, run_id: uuid.UUID, key: str) -> RunStep | None:
        return self.by_keys(run_id, [key]).get(key)

    @operation
    def move(self, step: RunStep, expected: StepStatus | Sequence[StepStatus], *, of_job: str | None = None,
             at_execution: int | None = None, **values) -> bool:
        """Conditionally change a step: only if its status is still ``expected`` (and, when
        given, it still belongs to job ``of_job`` / is still at execution ``at_execution``).

        :raises IllegalTransitionError: when ``values`` sets a status the table forbids.
        :returns: whether this caller won (another worker or the reconciler may have moved it).
        """
        expected = [expected] if isinstance(expected, StepStatus) else list(expected)
        if "status" in values:
            for current in expected:
                check_step_move(current, values["status"])
        # A prepared Core UPDATE (this is the engine's hottest statement), then the loaded
        # object is told the new values as committed ones, so no second UPDATE is flushed.
        values["updated_at"] = utcnow()
        columns = tuple(sorted(values))
        params = {"b_step_id": step.id, "expected": expected,
                  **{f"set_{name}": values[name] for name in columns}}
        if of_job is not None:
            params["b_job_id"] = of_job
        if at_execution is not None:
            params["at_execution"] = at_execution
        statement = statements.move_step(columns, of_job is not None, at_execution is not None)
        result = self.execute_prepared(statement, params)
        if result.rowcount != 1:
            return False
        remember(step, **values)
        return True

    @operation
    def release_dependents(self, run_id: uuid.UUID, keys: Sequence[str]) -> list[RunStep]:
        """One dependency of each of these steps finished: count it, return those now ready."""
        if not keys:
            return []
        table = RunStep.__table__
        count = (self.update_where(RunStep.run_id == run_id, RunStep.step_key.in_(keys),
                                   RunStep.status == StepStatus.PENDING)
                 .values(waiting_on=RunStep.waiting_on - 1))
        connection = self.session.connection()
        if connection.dialect.update_returning:  # count and read the ready ones in one round trip
            rows = [StepRecord(dict(row._mapping)) for row in connection.execute(count.returning(*table.c))]
            ready = [row for row in rows if row.waiting_on <= 0]
            return sorted(ready, key=lambda row: (row.position, row.fan_index if row.fan_index is not None else -1))
        connection.execute(count)
        return list(self.session.scalars(
            self.select(RunStep.run_id == run_id, RunStep.step_key.in_(keys), RunStep.status == StepStatus.PENDING,
                        RunStep.waiting_on <= 0)
            .order_by(RunStep.position, RunStep.fan_index)
            .execution_options(populate_existing=True)
        ))

    @operation
    def insert_many(self, run_id: uuid.UUID, rows: list[dict[str, Any]]) -> list[StepRecord]:
        """Insert a new run's steps in one statement; return them as records, defaults filled."""
        now = utcnow()
        complete = [{**STEP_DEFAULTS, **row, "id": uuid.uuid4(), "tenant_id": self.tenant_id, "run_id": run_id,
                     "created_at": now, "updated_at": now} for row in rows]
        for row in complete:  # fresh lists per row: a record's list must not be shared
            for name in ("dependents", "candidates", "output_artifact_ids"):
                row[name] = list(row[name] or [])
        if complete:
            self.session.connection().execute(RunStep.__table__.insert(), complete)
        return [StepRecord(row) for row in complete]

    @operation
    def count_released(self, run_id: uuid.UUID, keys: Sequence[str], amount: int) -> None:
        """``amount`` dependencies of each of these pending steps finished."""
        self.session.connection().execute(
            self.update_where(RunStep.run_id == run_id, RunStep.step_key.in_(list(keys)),
                              RunStep.status == StepStatus.PENDING)
            .values(waiting_on=RunStep.waiting_on - amount))

    @operation
    def add_usage(self, step_id: uuid.UUID, tokens_input: int, tokens_output: int, cost_usd: Decimal) -> None:
        """Count one model call into the step's totals, atomically (a failed attempt's calls count too)."""
        self.session.execute(self.update_where(RunStep.id == step_id).values(
            tokens_input=RunStep.tokens_input + tokens_input, tokens_output=RunStep.tokens_output + tokens_output,
            cost_usd=RunStep.cost_usd + cost_usd, model_calls=RunStep.model_calls + 1,
        ).execution_options(synchronize_session=False))

    @operation
    def set_progress(self, step_id: uuid.UUID, fraction: float, message: str) -> None:
        self.session.execute(self.update_where(RunStep.id == step_id)
                             .values(progress=fraction, progress_message=message or None)
                             .execution_options(synchronize_session=False))

    @operation
    def count_by_status(self, run_id: uuid.UUID) -> dict[StepStatus, int]:
        rows = self.session.execute(
            self.core_select(RunStep.status, func.count()).where(RunStep.run_id == run_id)
            .group_by(RunStep.status)
        )
        return {StepStatus(status): count for status, count in rows}

    @operation
    def active(self, run_id: uuid.UUID) -> list[RunStep]:
        return self.list(RunStep.run_id == run_id, RunStep.status.in_(
            [StepStatus.PENDING, StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.AWAITING_SELECTION,
             StepStatus.WAITING]))

    @operation
    def counts_by_run(self, run_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[StepStatus, int]]:
        """Steps by status for each run, in one query (for lists of runs and their progress).

        A fanned-out parent is left out: its children are the steps that run in its place.
        """
        found: dict[uuid.UUID, dict[StepStatus, int]] = {run_id: {} for run_id in run_ids}
        if not run_ids:
            return found
        rows = self.session.execute(
            self.core_select(RunStep.run_id, RunStep.status, func.count())
            .where(RunStep.run_id.in_(list(run_ids)), RunStep.is_fan_out.is_(False))
            .group_by(RunStep.run_id, RunStep.status))
        for run_id, status, count in rows:
            found.setdefault(run_id, {})[StepStatus(status)] = count
        return found


class RunStepLocator(SystemRepository[RunStep]):
    """Steps by id alone or across tenants.

    System scope: a step's job carries only the step's id and learns the tenant from the row
    it claims; the reconciler sweeps every tenant's stale and queued steps; a worker's
    heartbeat stamps the steps of the jobs it runs, whoever's they are.
    """

    model = RunStep

    @operation
    def find(self, step_id: object) -> RunStep | None:
        key = as_uuid(step_id)
        return None if key is None else self.session.get(RunStep, key, populate_existing=True)

    @operation
    def claim(self, step_id: object, job_id: str | None, worker_name: str,
              now: datetime | None = None) -> StepRecord | None:
        """Take a queued step for this job: queued → running, one attempt more, in one
        conditional UPDATE committed on its own; ``None`` when it is not (or no longer) this
        job's to run.

        The UPDATE is atomic by itself, so it runs on a connection of its own in autocommit
        mode: on PostgreSQL that spares the claim the BEGIN and the COMMIT round trips (two of
        the nine a no-op step cost). What the job writes next is its own transaction.
        """
        key = as_uuid(step_id)
        if key is None:
            return None
        check_step_move(StepStatus.QUEUED, StepStatus.RUNNING)
        parameters = {"b_step_id": key, "b_job_id": job_id, "b_worker": worker_name, "b_now": now or utcnow()}
        with self.session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            returning = connection.dialect.update_returning  # one round trip where the database can
            found = connection.execute(statements.claim_step(returning), parameters)
            if returning:
                row = found.first()
            else:
                row = connection.execute(statements.read_step(), {"b_step_id": key}).first() \
                    if found.rowcount == 1 else None
        return StepRecord(dict(row._mapping)) if row is not None else None

    @operation
    def held_by(self, step_id: object, job_id: str | None, worker_name: str) -> StepRecord | None:
        """The step, if it is running for this job on this worker already: a claim that took
        although its answer was lost (the database went away as it replied, or right after),
        which the job takes up again instead of leaving the step to be judged lost."""
        key = as_uuid(step_id)
        if key is None or job_id is None:
            return None
        row = self.session.execute(statements.read_step(), {"b_step_id": key}).first()
        if row is None or row.status != StepStatus.RUNNING or row.job_id != job_id or row.worker_name != worker_name:
            return None
        return StepRecord(dict(row._mapping))

    @operation
    def stale_running(self, heartbeat_before: datetime, limit: int = 500) -> list[RunStep]:
        return self.list(RunStep.status == StepStatus.RUNNING, RunStep.is_fan_out.is_(False),
                         (RunStep.heartbeat_at.is_(None)) | (RunStep.heartbeat_at < heartbeat_before),
                         order_by=[RunStep.heartbeat_at], limit=limit)

    @operation
    def queued(self, updated_before: datetime, limit: int = 2000) -> list[RunStep]:
        return self.list(RunStep.status == StepStatus.QUEUED, RunStep.updated_at < updated_before,
                         order_by=[RunStep.updated_at], limit=limit)

    @operation
    def heartbeat(self, worker_name: str, job_ids: Sequence[str]) -> int:
        """Stamp the running steps of these jobs, which this worker is executing now."""
        result = self.session.execute(
            update(RunStep).where(RunStep.worker_name == worker_name, RunStep.status == StepStatus.RUNNING,
                                  RunStep.job_id.in_(list(job_ids)))
            .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
        return result.rowcount


class RunLocator(SystemRepository[Run]):
    """Runs across tenants.

    System scope: the reconciler looks at every tenant's unfinished runs to find those whose
    work was lost; it then acts on each through its tenant's repositories.
    """

    model = Run

    @operation
    def unfinished(self, updated_before: datetime, limit: int = 500) -> list[Run]:
        return self.list(Run.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]), Run.updated_at < updated_before,
                         order_by=[Run.updated_at], limit=limit)


class StepAttemptRepository(ScopedRepository[StepAttempt]):
    model = StepAttempt

    @operation
    def of_steps(self, step_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[StepAttempt]]:
        found: dict[uuid.UUID, list[StepAttempt]] = {}
        if step_ids:
            for attempt in self.list(StepAttempt.run_step_id.in_(step_ids), order_by=[StepAttempt.number]):
                found.setdefault(attempt.run_step_id, []).append(attempt)
        return found

    @operation
    def record(self, **values) -> None:
        """Insert an attempt row with one Core INSERT (the engine writes one per ended attempt)."""
        values = {"id": uuid.uuid4(), "tenant_id": self.tenant_id, **values}
        self.session.connection().execute(statements.insert_attempt(),
                                          {f"p_{name}": value for name, value in values.items()})

    @operation
    def current(self, step: RunStep) -> StepAttempt | None:
        return self.first(StepAttempt.run_step_id == step.id, StepAttempt.number == step.executions)


class StepCacheRepository(ScopedRepository[StepCacheEntry]):
    model = StepCacheEntry

    @operation
    def find(self, cache_key: str) -> StepCacheEntry | None:
        """The entry, locked until the transaction ends: it is read only to be changed (claimed
        or filled), and the reconciler's janitor may be dropping a stale claim at that moment —
        locked, its DELETE waits and then sees the fresh claim instead of removing the row
        under this UPDATE."""
        return self.session.scalars(self.select(StepCacheEntry.cache_key == cache_key).with_for_update()
                                    .execution_options(populate_existing=True)).first()

    @operation
    def peek(self, cache_key: str) -> StepRecord | None:
        """The entry as it is, read by Core (planning only looks, it never changes it)."""
        table = StepCacheEntry.__table__
        row = self.session.connection().execute(
            self.core_select(*table.c).where(table.c.cache_key == cache_key)).first()
        return StepRecord(dict(row._mapping)) if row is not None else None

    @operation
    def owner_at_work(self, entry: StepCacheEntry, since: datetime) -> bool:
        """Whether the entry's claim is live: claimed since ``since``, or its owner step is
        running with a heartbeat since then."""
        if entry.owner_step_id is None:
            return False
        if entry.claimed_at is not None and entry.claimed_at > since:
            return True
        return self.session.execute(select(func.count()).where(
            RunStep.tenant_id == entry.tenant_id, RunStep.id == entry.owner_step_id,
            RunStep.status == StepStatus.RUNNING, RunStep.heartbeat_at >= since)).scalar_one() > 0

    @operation
    def release(self, owner_step_id: uuid.UUID) -> None:
        """Drop the unfinished claims of a step that failed or was cancelled."""
        self.session.execute(self.delete_where(StepCacheEntry.owner_step_id == owner_step_id,
                                               StepCacheEntry.ready.is_(False)))


class StepCacheJanitor(SystemRepository[StepCacheEntry]):
    """Stale claims on the step cache, in every tenant.

    System scope: the reconciler drops claims whose step died mid-way, whichever tenant's;
    only unfinished claims older than the stale limit are touched.
    """

    model = StepCacheEntry

    @operation
    def drop_stale_claims(self, claimed_before: datetime) -> int:
        """Drop unfinished claims older than ``claimed_before`` whose owner is not still at
        work: a step computing for longer than the limit (a minute-long chapter) keeps its
        claim while its worker heartbeats, so no identical step computes it a second time."""
        result = self.session.execute(delete(StepCacheEntry).where(
            StepCacheEntry.ready.is_(False), StepCacheEntry.claimed_at < claimed_before,
            ~StepCacheEntry.owner_step_id.in_(_steps_at_work(claimed_before)))
            .execution_options(synchronize_session=False))
        return result.rowcount


def _steps_at_work(heartbeat_since: datetime):
    """The running steps whose worker has heartbeated since ``heartbeat_since``."""
    return select(RunStep.id).where(RunStep.status == StepStatus.RUNNING, RunStep.heartbeat_at >= heartbeat_since)


class ArtifactRepository(ScopedRepository[Artifact]):
    model = Artifact

    @operation
    def of_step(self, run_step_id: uuid.UUID, content_hash: str) -> Artifact | None:
        return self.first(Artifact.run_step_id == run_step_id, Artifact.content_hash == content_hash)


class IdempotencyKeyRepository(ScopedRepository[IdempotencyKey]):
    model = IdempotencyKey

    @operation
    def find(self, key: str) -> IdempotencyKey | None:
        return self.first(IdempotencyKey.key == key)


class WorkflowVersionRepository(ScopedRepository[WorkflowVersion]):
    model = WorkflowVersion

    @operation
    def versions(self, name: str) -> list[WorkflowVersion]:
        return self.list(WorkflowVersion.name == name, order_by=[WorkflowVersion.sequence.desc()])

    @operation
    def latest(self, name: str) -> WorkflowVersion | None:
        found = self.versions(name)
        return found[0] if found else None

    @operation
    def find(self, name: str, version: str) -> WorkflowVersion | None:
        return self.first(WorkflowVersion.name == name, WorkflowVersion.version == version)

    @operation
    def names(self) -> list[str]:
        rows = self.session.scalars(self.core_select(WorkflowVersion.name).distinct().order_by(WorkflowVersion.name))
        return list(rows)
