"""What people and clients do with runs: start, cancel, select, regenerate, branch, update, resume.

Every operation takes the run's lock, changes rows through the scheduler's rules, commits,
and only then enqueues jobs and publishes progress. Runs are tenant-scoped through the
repository factory it is given; another tenant's run id is simply not found.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from rq.job import Job
from rq.serializers import JSONSerializer

from .. import audit
from ..auth.principal import Principal, current_principal
from ..errors import ConflictError, IllegalTransitionError, NotFoundError, ValidationError
from ..events import DomainEvent
from ..models import AttemptOutcome, IdempotencyKey, Run, RunStep, StepAttempt, TriggerType
from ..repositories import Repositories
from ..repositories.records import remember
from ..runtime import InkwrightState, current_state, repositories
from ..statuses import RunStatus, StepStatus
from ..workflows.catalog import CatalogEntry
from ..workflows.definition import WorkflowDefinition
from ..workflows.inputs import resolve_inputs
from . import decisions
from .executor import dispatch
from .model_check import require_usable_models
from .planner import branch_redo, canonical_json, waiting_counts
from .scheduler import Scheduler, scheduler_for

#: Error codes of a step held because its model call could not be paid for.
HOLD_CODES = frozenset({"PAYMENT_REQUIRED", "BUDGET_EXCEEDED", "SUBSCRIPTION_INACTIVE"})


@dataclass(frozen=True)
class Budget:
    """A run's spending cap; ``None`` leaves that side unlimited."""

    tokens: int | None = None
    cost_usd: Decimal | None = None


def request_fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def caller_run_service() -> "RunService":
    """The run service acting for the signed-in caller, in their tenant (views, the API and
    plugins' pages all use this one)."""
    return RunService(repositories(), current_state(), current_principal())


class RunService:
    def __init__(self, repos: Repositories, state: InkwrightState, principal: Principal | None) -> None:
        self.repos = repos
        self.state = state
        self.principal = principal

    def authorize(self, action: str) -> None:
        if self.principal is not None:
            self.principal.require("runs", action)

    def get(self, run_id: Any) -> Run:
        """:raises NotFoundError: for a run not in this tenant."""
        self.authorize("read")
        return self.repos.runs.require(run_id)

    def _change(self, run_id: uuid.UUID, change: Callable[[Scheduler, Run], Any]) -> Any:
        with self.repos.transaction(), self.repos.runs.locked(run_id) as run:
            scheduler = scheduler_for(self.repos, run, self.state)
            result = change(scheduler, run)
        dispatch(self.state, scheduler.after)
        return result

    # Starting -----------------------------------------------------------------------------
    def start(self, entry: CatalogEntry, inputs: dict[str, Any] | None, idempotency_key: str | None = None,
              request_body: dict[str, Any] | None = None, budget: Budget | None = None) -> tuple[Run, bool]:
        """Start a run of a workflow version.

        :param budget: the most the run may spend (tokens, cost); a call that would pass it
            pauses the run instead.

        :returns: the run and whether it is new (False: an earlier request with the same
            ``Idempotency-Key`` made it).
        :raises ValidationError: for inputs the workflow does not accept.
        :raises ConflictError: for an ``Idempotency-Key`` reused with a different request.
        """
        self.authorize("create")
        require_usable_models(self.state, entry.definition, inputs)
        fingerprint = request_fingerprint(request_body or {"workflow": entry.name, "inputs": inputs})
        if idempotency_key:
            earlier = self.repos.idempotency_keys.find(idempotency_key)
            if earlier is not None:
                if earlier.request_hash != fingerprint:
                    raise ConflictError("This Idempotency-Key was used for a different request.",
                                        {"idempotencyKey": idempotency_key})
                return self.repos.runs.require(earlier.run_id), False
        resolved = resolve_inputs(entry.definition, inputs)
        run = self._create(entry.definition, resolved, TriggerType.INITIAL,
                           idempotency=(idempotency_key, fingerprint) if idempotency_key else None, budget=budget)
        return run, True

    def _create(self, definition: WorkflowDefinition, inputs: dict[str, Any], trigger: TriggerType, *,
                parent: Run | None = None, branch_point: str | None = None, base: Run | None = None,
                copied: dict[str, list[RunStep]] | None = None,
                idempotency: tuple[str, str] | None = None, budget: Budget | None = None) -> Run:
        """Create the run and its steps and plan them, in one transaction: a cached or fully
        reused run is complete when this returns, and a client never sees half a run."""
        copied = copied or {}
        run_id = uuid.uuid4()
        lineage = parent or base
        if budget is None and lineage is not None:  # a branch or an update keeps its family's cap
            budget = Budget(lineage.budget_tokens, lineage.budget_cost_usd)
        budget = budget or Budget()
        dependents = definition.dependents()
        waiting = waiting_counts(definition, done=copied)
        rows: list[dict[str, Any]] = []
        for position, spec in enumerate(definition.steps):
            if spec.id in copied:
                rows += [self._copy(row) for row in copied[spec.id]]
                continue
            rows.append(dict(
                step_key=spec.id, step_id=spec.id, position=position, skill=spec.skill, status=StepStatus.PENDING,
                waiting_on=waiting[spec.id], dependents=list(dependents[spec.id]),
                max_attempts=spec.retry.max_attempts))
        with self.repos.transaction() as tx:
            run = self.repos.runs.add(Run(
                id=run_id, workflow_name=definition.name, workflow_version=definition.version,
                definition=definition.to_dict(), inputs=inputs, trigger_type=trigger, status=RunStatus.QUEUED,
                created_by_user_id=self.principal.user_id if self.principal else None,
                parent_run_id=parent.id if parent else None, branch_point=branch_point,
                base_run_id=base.id if base else None, root_run_id=lineage.root_run_id if lineage else run_id,
                steps_total=len(rows), steps_done=sum(1 for row in rows if row["status"].is_terminal),
                steps_reused=sum(1 for row in rows if row.get("reused_from_step_id")),
                budget_tokens=budget.tokens, budget_cost_usd=budget.cost_usd,
            ))
            rows = self.repos.run_steps.insert_many(run.id, rows)
            if idempotency:
                self.repos.idempotency_keys.add(IdempotencyKey(key=idempotency[0], request_hash=idempotency[1],
                                                               run_id=run.id))
            tx.publish(DomainEvent("run.created", str(run.id), {
                "runId": str(run.id), "workflow": definition.name, "version": definition.version,
                "trigger": trigger.value}, tenant_id=run.tenant_id,
                actor_id=self.principal.user_id if self.principal else None))
            audit.record(self.repos, "run.start", "run", run.id, actor_id=run.created_by_user_id, metadata={
                "workflow": definition.name, "version": definition.version, "trigger": trigger,
                "parent_run_id": run.parent_run_id or run.base_run_id, "branch_point": branch_point})
            self.state.definitions.remember(run.id, definition)
            with self.repos.runs.locked(run.id) as record:
                scheduler = scheduler_for(self.repos, record, self.state)
                self._begin(scheduler, record, rows)
        dispatch(self.state, scheduler.after)
        # The run as planned, without reading it back.
        remember(run, **record.values())
        return run

    @staticmethod
    def _copy(source: RunStep) -> dict[str, Any]:
        """A finished step of the parent run, carried into a branch unchanged."""
        return dict(
            step_key=source.step_key, step_id=source.step_id, fan_index=source.fan_index,
            is_fan_out=source.is_fan_out, position=source.position, skill=source.skill,
            skill_version=source.skill_version, status=StepStatus.COMPLETED, waiting_on=0,
            dependents=source.dependents, inputs=source.inputs, input_hash=source.input_hash, output=source.output,
            candidates=source.candidates, user_selection=source.user_selection, user_feedback=source.user_feedback,
            merged_content=source.merged_content, output_artifact_ids=source.output_artifact_ids,
            attempt=0, max_attempts=source.max_attempts, reused_from_step_id=source.id,
            started_at=source.started_at, ended_at=source.ended_at, duration_ms=0)

    @staticmethod
    def _begin(scheduler: Scheduler, run: Any, rows: list[Any]) -> None:
        """Start the run and plan what is ready; the new rows are at hand, so readiness is
        counted in memory and written back once at the end."""
        scheduler.move_run(RunStatus.RUNNING)
        scheduler.hold_pending(rows)
        scheduler.plan(sorted((row for row in rows if row.status == StepStatus.PENDING and row.waiting_on <= 0),
                              key=lambda row: row.position))
        scheduler.write_waiting()
        scheduler.finish_run_if_done()

    # Branching and updating -----------------------------------------------------------------
    def branch(self, run_id: Any, step_id: str, changes: dict[str, Any] | None) -> Run:
        """A new run from ``step_id`` of an earlier run, with changed inputs (seed 001).

        Steps outside the branch point and what follows from it are carried over, not run
        again; the parent run is never modified.
        """
        self.authorize("create")
        parent = self.repos.runs.require(run_id)
        definition = WorkflowDefinition.from_dict(parent.definition)
        if step_id not in {step.id for step in definition.steps}:
            raise ValidationError(f"Run {parent.id} has no step {step_id!r} to branch from.",
                                  {"fields": {"step": [f"One of {', '.join(s.id for s in definition.steps)}."]}})
        inputs = resolve_inputs(definition, {**parent.inputs, **(changes or {})})
        require_usable_models(self.state, definition, inputs)
        redo = branch_redo(definition, step_id)
        copied: dict[str, list[RunStep]] = {}
        rows = self.repos.run_steps.of_run(parent.id)
        for spec in definition.steps:
            if spec.id in redo:
                continue
            mine = [row for row in rows if row.step_id == spec.id]
            if mine and all(row.status == StepStatus.COMPLETED for row in mine):
                copied[spec.id] = mine
        return self._create(definition, inputs, TriggerType.BRANCH, parent=parent, branch_point=step_id,
                            copied=copied)

    def update(self, run_id: Any, changes: dict[str, Any] | None) -> Run:
        """Re-run with edited inputs (seed 004): only steps whose input hash changed execute."""
        self.authorize("create")
        base = self.repos.runs.require(run_id)
        definition = WorkflowDefinition.from_dict(base.definition)
        inputs = resolve_inputs(definition, {**base.inputs, **(changes or {})})
        require_usable_models(self.state, definition, inputs)
        return self._create(definition, inputs, TriggerType.UPDATE, base=base)

    # People's decisions ----------------------------------------------------------------------
    def _step_awaiting(self, scheduler: Scheduler, run: Run, step_key: str) -> RunStep:
        step = self.repos.run_steps.by_key(run.id, step_key)
        if step is None:
            raise NotFoundError(f"Run {run.id} has no step {step_key!r}.", {"step": step_key})
        if step.status != StepStatus.AWAITING_SELECTION:
            raise ConflictError(f"Step {step_key} is {step.status.value}, not awaiting a selection.",
                                {"step": step_key, "status": step.status.value})
        return step

    def select(self, run_id: Any, step_key: str, index: int, feedback: str | None) -> Run:
        """Choose a candidate of a step awaiting selection; the run goes on with it."""
        self.authorize("update")
        run = self.repos.runs.require(run_id)

        def choose(scheduler: Scheduler, locked: Run) -> None:
            step = self._step_awaiting(scheduler, locked, step_key)
            count = len(step.candidates or [])
            if not 0 <= index < count:
                raise ValidationError(f"Step {step_key} has candidates 0 to {count - 1}.",
                                      {"fields": {"index": [f"Must be from 0 to {count - 1}."]}})
            scheduler.on_event(step, decisions.Selected(index, count), feedback=feedback)
        self._change(run.id, choose)
        return self.repos.runs.require(run.id)

    def regenerate(self, run_id: Any, step_key: str) -> Run:
        """Ask a step awaiting selection for more candidates (added to those it has). Not a
        retry: the step's attempts stay as they are."""
        self.authorize("update")
        run = self.repos.runs.require(run_id)

        def more(scheduler: Scheduler, locked: Run) -> None:
            scheduler.on_event(self._step_awaiting(scheduler, locked, step_key), decisions.Regenerate())
        self._change(run.id, more)
        return self.repos.runs.require(run.id)

    def retry(self, run_id: Any) -> Run:
        """Retry a failed or crashed run in place (seed 001: error → running): the steps that
        failed, and those skipped because of them, are queued again with a fresh attempt
        budget; completed steps keep their outputs. Branch and update runs are unchanged.

        :raises IllegalTransitionError: for a run that is not failed or crashed.
        """
        self.authorize("update")
        run = self.repos.runs.require(run_id)

        def again(scheduler: Scheduler, locked: Run) -> None:
            if locked.status not in decisions.RETRYABLE_RUN:
                raise IllegalTransitionError("Run", RunStatus(locked.status).value, RunStatus.RUNNING.value)
            rows = self.repos.run_steps.of_run(locked.id)
            plan = decisions.plan_retry(
                {row.step_key: row.status for row in rows},
                {spec.id: spec.depends_on for spec in scheduler.definition.steps},
                {row.step_key: row.step_id for row in rows if row.fan_index is not None},
                fan_out=[row.step_key for row in rows if row.is_fan_out])
            audit.record(self.repos, "run.retry", "run", locked.id,
                         actor_id=self.principal.user_id if self.principal else None,
                         changes=audit.changed({"status": RunStatus(locked.status).value}, {"status": "running"}),
                         metadata={"steps": sorted(plan.reset)})
            kept = []
            for row in rows:
                if row.step_key in plan.drop:
                    self.repos.run_steps.delete(row)
                elif row.step_key in plan.reset:
                    self.repos.run_steps.move(
                        row, row.status, status=StepStatus.PENDING, waiting_on=plan.reset[row.step_key],
                        attempt=0, is_fan_out=False, error=None, output=None, merged_content=None,
                        job_id=None, worker_name=None, next_attempt_at=None, ended_at=None)
                    kept.append(row)
                else:
                    kept.append(row)
            locked.steps_total = len(kept)
            locked.steps_done = sum(1 for row in kept if row.status.is_terminal)
            scheduler.move_run(RunStatus.RUNNING, error=None, completed_at=None, duration_ms=None,
                               pause_reason=None)
            scheduler.note("run.retried", steps=sorted(plan.reset))
            scheduler.repos.transaction().publish(DomainEvent(
                "run.retried", str(locked.id), {"runId": str(locked.id), "steps": sorted(plan.reset)},
                tenant_id=locked.tenant_id, actor_id=self.principal.user_id if self.principal else None))
            scheduler.plan(sorted((row for row in kept if row.step_key in plan.ready),
                                  key=lambda row: row.position))
        self._change(run.id, again)
        return self.repos.runs.require(run.id)

    def resume(self, run_id: Any, budget: Budget | None = None) -> Run:
        """Go on with a run paused because a model call could not be paid for (after credits
        were added, a key stored, or — with ``budget`` — its cap raised).

        :raises ConflictError: when the run is not paused, or waits only for a selection.
        """
        self.authorize("update")
        run = self.repos.runs.require(run_id)

        def go_on(scheduler: Scheduler, locked: Run) -> None:
            if locked.status != RunStatus.PAUSED:
                raise ConflictError(f"Run {locked.id} is {locked.status.value}, not paused.",
                                    {"status": locked.status.value})
            held = [row for row in self.repos.run_steps.active(locked.id)
                    if row.status == StepStatus.PENDING and row.waiting_on <= 0 and row.error
                    and row.error.get("code") in HOLD_CODES]
            if not held:
                raise ConflictError("The run waits for a person to select a candidate, not for payment.",
                                    {"pauseReason": locked.pause_reason})
            if budget is not None:
                locked.budget_tokens, locked.budget_cost_usd = budget.tokens, budget.cost_usd
            awaiting = [row for row in self.repos.run_steps.active(locked.id)
                        if row.status == StepStatus.AWAITING_SELECTION]
            if not awaiting:
                scheduler.move_run(RunStatus.RUNNING, pause_reason=None)
            scheduler.note("run.resumed", steps=[row.step_key for row in held])
            scheduler.plan(sorted(held, key=lambda row: row.position))
        self._change(run.id, go_on)
        return self.repos.runs.require(run.id)

    def cancel(self, run_id: Any) -> Run:
        """Stop a run: queued work at once, running skills at their next cancellation check.

        :raises IllegalTransitionError: for a run that already ended.
        """
        self.authorize("update")
        run = self.repos.runs.require(run_id)
        job_ids: list[str] = []

        def stop(scheduler: Scheduler, locked: Run) -> None:
            job_ids.extend(row.job_id for row in self.repos.run_steps.active(locked.id)
                           if row.status == StepStatus.QUEUED and row.job_id)
            audit.record(self.repos, "run.cancel", "run", locked.id,
                         actor_id=self.principal.user_id if self.principal else None,
                         changes=audit.changed({"status": RunStatus(locked.status).value}, {"status": "cancelled"}))
            scheduler.skip_unstarted("CANCELLED", "The run was cancelled.")
            scheduler.move_run(RunStatus.CANCELLED, cancel_requested_at=scheduler.now(), pause_reason=None)
            scheduler.repos.transaction().publish(DomainEvent(
                "run.cancelled", str(locked.id), {"runId": str(locked.id)}, tenant_id=locked.tenant_id,
                actor_id=self.principal.user_id if self.principal else None))
        self._change(run.id, stop)
        self._drop_jobs(job_ids)
        return self.repos.runs.require(run.id)

    def _drop_jobs(self, job_ids: list[str]) -> None:
        """Take cancelled steps' jobs off the queue (a job that slips through finds the run ended)."""
        connection = self.state.redis.client()
        for job_id in job_ids:
            job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer) \
                if Job.exists(job_id, connection=connection) else None
            if job is not None and job.get_status(refresh=True) in ("queued", "scheduled", "deferred"):
                job.cancel()

    # Reading ------------------------------------------------------------------------------
    def detail(self, run: Run) -> "RunView":
        """The run with every step, its candidates and its attempts, for the API and the studio."""
        steps = self.repos.run_steps.of_run(run.id)
        attempts = self.repos.step_attempts.of_steps([step.id for step in steps])
        responses = self.repos.ai_responses.of_steps([step.id for step in steps])
        return RunView(run, [StepView(step, attempts.get(step.id, []) + in_flight(step, attempts.get(step.id, [])),
                                      responses.get(step.id, []))
                             for step in steps])

    def lineage(self, run_id: Any) -> list[Run]:
        """Every run of the family (the first run, its branches and updates), oldest first."""
        run = self.get(run_id)
        return self.repos.runs.family(run.root_run_id)




def in_flight(step: RunStep, recorded: list) -> list[StepAttempt]:
    """The attempt running now, which has no row until it ends, shown like the others."""
    if step.status != StepStatus.RUNNING or step.is_fan_out or step.attempt < 1 or \
            any(attempt.number == step.attempt for attempt in recorded):
        return []
    return [StepAttempt(run_step_id=step.id, number=step.attempt, outcome=AttemptOutcome.RUNNING,
                        worker_name=step.worker_name, job_id=step.job_id, started_at=step.attempt_started_at)]


class StepView:
    """A step with its attempts and AI responses, read like the step itself."""

    def __init__(self, step: RunStep, attempts: list, responses: list | None = None) -> None:
        self._step = step
        self.attempts = attempts
        self.responses = responses or []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._step, name)


class RunView:
    """A run with its steps, read like the run itself."""

    def __init__(self, run: Run, steps: list[StepView]) -> None:
        self._run = run
        self.steps = steps

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


__all__ = ["RunService", "caller_run_service", "RunView", "StepView", "request_fingerprint"]
