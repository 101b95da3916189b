"""The scheduler: the engine's applier. Inside one transaction on a locked run, it carries
out what :mod:`app.engine.decisions` decided.

The executor, the reconciler and the run service gather the facts of an event (a step
completed, failed, was lost, a person chose), ask :func:`~app.engine.decisions.decide` what
follows, and hand the commands to :meth:`Scheduler.apply`, which writes them: one
conditional move of the step, its execution's row, its cache entry, the run's counters,
and then the planning of whatever became ready.

Planning a ready step (:mod:`~app.engine.step_planning`, mixed in) renders its templates,
computes its input hash and then, as :func:`~app.engine.decisions.plan_ready` says, fans it out (``for_each``), reuses an update
run's unchanged step, serves it from the step cache, or queues it for a worker. Reuse and
cache hits finish at once and release their own dependents, so a fully cached run
completes without any job at all.

Work that must wait for the commit — enqueueing jobs, publishing progress — is collected
in :class:`AfterCommit` and done by the caller once the transaction has committed.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from ..errors import ConflictError, NotFoundError
from ..events import DomainEvent
from ..models import AttemptOutcome, Run, RunStep, utcnow
from ..registry import PluginRegistry
from ..repositories import Repositories
from ..repositories.records import remember
from ..statuses import RunStatus, StepStatus, check_run_move
from ..workflows.definition import StepSpec, WorkflowDefinition
from ..workflows.templates import TemplateEngine
from . import decisions
from .decisions import Command, StepEvent, facts_of
from .definitions import DefinitionCache, RunSnapshot
from .planner import (
    elapsed_ms,
    merged_content,
)
from .step_errors import step_error
from .step_planning import StepPlanning

log = logging.getLogger(__name__)


@dataclass
class AfterCommit:
    """Jobs to enqueue and progress to publish once the transaction has committed."""

    #: ``(step id, job id, delay in seconds, timeout in seconds or None for the default)``
    jobs: list[tuple[uuid.UUID, str, float, int | None]] = field(default_factory=list)
    progress: list[tuple[uuid.UUID, str, dict[str, Any]]] = field(default_factory=list)
    #: Whether the jobs go to the front of the queue: a recovery's do (the reconciler's), so a
    #: step whose worker died runs next instead of after everything queued since.
    at_front: bool = False

    def extend(self, other: "AfterCommit") -> None:
        self.jobs += other.jobs
        self.progress += other.progress


def new_job_id(step: RunStep) -> str:
    return f"step-{step.id}-{uuid.uuid4().hex[:8]}"


#: What an ended execution leaves on the step's row (the moves are conditional UPDATEs).
_CLEARED_WORKER = {"worker_name": None}


class Scheduler(StepPlanning):
    """Applies the engine's decisions to one run. Use inside ``repos.transaction()`` and
    ``repos.runs.locked(...)``.

    :param clock: returns the current UTC time (tests pass their own).
    """

    def __init__(self, repos: Repositories, run: Run, registry: PluginRegistry, templates: TemplateEngine,
                 definitions: DefinitionCache | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.repos = repos
        self.run = run
        self.registry = registry
        self.templates = templates
        self.now = clock
        # A run's definition never changes: the app keeps it parsed (DefinitionCache).
        if isinstance(run, RunSnapshot):
            self.definition = run.definition
        elif definitions is not None:
            self.definition = definitions.definition(run.id, lambda: repos.runs.definition_of(run.id))
        else:
            self.definition = WorkflowDefinition.from_dict(repos.runs.definition_of(run.id))
        self.after = AfterCommit()
        self._base_steps: dict[str, RunStep] | None = None
        #: Steps completed in this transaction, by key: their dependents need not read them.
        self.finished_rows: dict[str, Any] = {}
        #: When planning a whole run, its pending rows are at hand (see ``hold_pending``).
        self.pending: dict[str, Any] | None = None
        self.released: Counter[str] = Counter()

    # Progress and bookkeeping -----------------------------------------------------------
    def note(self, kind: str, **data: Any) -> None:
        self.after.progress.append((self.run.id, kind, data))

    def spec(self, step: RunStep) -> StepSpec:
        return self.definition.step(step.step_id)

    def error(self, code: str, message: str, **details: Any) -> dict[str, Any]:
        return step_error(code, message, self.now(), **details)

    def count_done(self, step: RunStep) -> None:
        """A step reached an end (completed, failed or skipped): count it into the run."""
        self.run.steps_done += 1
        if step.cache_hit:
            self.run.cache_hits += 1
        if step.reused_from_step_id:
            self.run.steps_reused += 1

    def move_run(self, status: RunStatus, **values: Any) -> None:
        check_run_move(self.run.status, status)
        self.run.status = status
        for key, value in values.items():
            setattr(self.run, key, value)
        now = self.now()
        if status == RunStatus.RUNNING and self.run.started_at is None:
            self.run.started_at = now
        if status.is_terminal:
            self.run.completed_at = now
            self.run.duration_ms = elapsed_ms(self.run.started_at or self.run.created_at, now)
        self.note(f"run.{status.value}", status=status.value, progress=self.run.progress,
                  error=self.run.error, pause_reason=self.run.pause_reason)

    # Applying decisions -------------------------------------------------------------------
    def on_event(self, step: Any, event: StepEvent, **facts: Any) -> list[Command]:
        """Decide what follows ``event`` on ``step`` and carry it out; the commands are returned.

        :param facts: what the event brought (``made`` candidates and ``spent`` usage of a
            completed execution, ``index``/``feedback`` of a selection).
        """
        commands = decisions.decide(decisions.RunFacts(self.run.status), facts_of(step, self.spec(step)), event)
        self.apply(step, commands, **facts)
        return commands

    def apply(self, step: Any, commands: Sequence[Command], **facts: Any) -> None:
        """Write ``commands`` about ``step``; stop at the first move someone else won."""
        ready: list[Any] = []
        for command in commands:
            if isinstance(command, decisions.Superseded):
                return
            if isinstance(command, decisions.EndExecution):
                if not self.end_execution(step, command, **facts):
                    return
            elif isinstance(command, decisions.EndStep):
                self.end_step(step, command.status, command.error)
            elif isinstance(command, decisions.Requeue):
                self.regenerate(step)
            elif isinstance(command, decisions.HoldForPayment):
                if not self.hold(step, command.error):
                    return
            elif isinstance(command, decisions.AwaitSelection):
                self.await_selection(step)
            elif isinstance(command, decisions.Choose):
                self.choose(step, command.index, facts.get("feedback"))
            elif isinstance(command, decisions.ResumeIfNothingAwaits):
                self.resume_if_nothing_awaits(exclude=step.id)
            elif isinstance(command, decisions.ReleaseDependents):
                ready += self.finished(step)
            elif isinstance(command, decisions.SkipDependents):
                self.skip_dependents(step)
            elif isinstance(command, decisions.FailRun):
                self.fail_run(command.error, command.status)
            elif isinstance(command, decisions.FinishRunIfDone):
                self.finish_run_if_done()
            else:  # pragma: no cover - a new command without its writer is a programming error
                raise TypeError(f"no writer for {command!r}")
        self.plan(ready)

    def end_execution(self, step: Any, command: decisions.EndExecution, made: list[dict[str, Any]] | None = None,
                      spent: Any = None, note: dict[str, Any] | None = None, **_: Any) -> bool:
        """The one end of a worker's execution: move the step from running (only while it is
        still at this execution), write the execution's row, settle its cache claim, count it.

        :returns: whether this execution still owned the step (False: superseded).
        """
        now = self.now()
        regenerating = bool(step.candidates)
        ran_by = (step.worker_name, step.job_id)  # the move clears them
        values: dict[str, Any] = {"status": command.status, "error": command.error, **_CLEARED_WORKER,
                                  "duration_ms": (step.duration_ms or 0) + (elapsed_ms(step.attempt_started_at, now) or 0)}
        if command.status != StepStatus.QUEUED:
            values["ended_at"] = now
        if command.with_output:
            candidates = list(step.candidates or []) + made if regenerating else list(made)
            values["candidates"] = candidates
            values["output_artifact_ids"] = sorted({a for c in candidates for a in c["artifactIds"]})
            if command.status == StepStatus.COMPLETED:
                output = candidates[0]["output"]
                values["output"] = output
                values["merged_content"] = merged_content(output)
        if command.status == StepStatus.QUEUED:
            job = self._queue_values(step, command.delay)
            values.update(job)
        if command.give_back:
            values["attempt"] = step.attempt - 1
        if not self.repos.run_steps.move(step, StepStatus.RUNNING, at_execution=step.executions, **values):
            return False
        self.record_execution(step, command.outcome, command.error, regeneration=regenerating, now=now,
                              ran_by=ran_by)
        if command.status == StepStatus.QUEUED:
            self._after_queued(step, command.delay)
            if command.give_back:
                # It lost its place to an outage, not to a fault of its own: first in line again.
                self.after.at_front = True
            self.note("step.interrupted" if command.give_back else "step.retrying", step=step.step_key,
                      attempt=step.attempt, delay=command.delay, error=command.error)
        if command.release_cache:
            self.repos.step_cache.release(step.id)
        if command.fill_cache:
            self.fill_cache(step, spent)
        if command.count:
            self.count_done(step)
            if command.status != StepStatus.COMPLETED:
                self.note(f"step.{command.status.value}", step=step.step_key, error=command.error)
        elif command.status == StepStatus.WAITING:
            self.note("step.waiting", step=step.step_key, attempt=step.attempt, **(note or {}))
        return True

    def record_execution(self, step: Any, outcome: AttemptOutcome, error: dict[str, Any] | None = None, *,
                         regeneration: bool = False, now: datetime | None = None,
                         ran_by: tuple[str | None, str | None] = (None, None)) -> None:
        """Write the row of the execution that just ended (numbered by execution). A lost
        worker's execution may already have its row (a waiting hand-over): that row ends."""
        now = now or self.now()
        started = step.attempt_started_at or now
        if outcome == AttemptOutcome.CRASHED:
            existing = self.repos.step_attempts.current(step)
            if existing is not None:
                if existing.outcome == AttemptOutcome.RUNNING:
                    existing.outcome, existing.ended_at, existing.error = outcome, now, error
                return
        self.repos.step_attempts.record(
            run_step_id=step.id, number=step.executions, outcome=outcome, worker_name=ran_by[0],
            job_id=ran_by[1], error=error, started_at=started, ended_at=now, duration_ms=elapsed_ms(started, now),
            regeneration=regeneration)

    def fill_cache(self, step: Any, spent: Any) -> None:
        """The step's claim on its cache entry becomes the ready entry identical steps are served."""
        entry = self.repos.step_cache.find(self.cache_key(step, self.spec(step)))
        if entry is None or entry.owner_step_id != step.id:
            return
        entry.ready, entry.data, entry.candidates = True, step.output if step.output is not None else \
            step.candidates[0]["output"], step.candidates
        entry.artifact_ids, entry.owner_step_id = step.output_artifact_ids, None
        if spent is not None:
            entry.tokens_input, entry.tokens_output = spent.tokens_input, spent.tokens_output
            entry.cost_usd, entry.model_calls = spent.cost_usd, spent.model_calls

    def end_step(self, step: Any, status: StepStatus, error: dict[str, Any] | None,
                 expected: StepStatus = StepStatus.PENDING, **note: Any) -> bool:
        """End a step that has no execution to record — it failed while being planned, it needs
        a skipped step, or its run ended before it ran: drop its cache claim, count it done."""
        moved = self.repos.run_steps.move(step, expected, status=status, error=error, ended_at=self.now(),
                                          **_CLEARED_WORKER)
        if moved:
            self.repos.step_cache.release(step.id)
            self.count_done(step)
            self.note(f"step.{status.value}", step=step.step_key, error=error, **note)
        return moved

    def hold(self, step: Any, error: dict[str, Any]) -> bool:
        """A model call could not be paid for: back to pending (its attempt given back), the
        run paused with the reason; resuming the run plans it again."""
        if not self.repos.run_steps.move(step, StepStatus.RUNNING, at_execution=step.executions,
                                         status=StepStatus.PENDING, attempt=step.attempt - 1, error=error,
                                         job_id=None, **_CLEARED_WORKER):
            return False
        self.repos.step_cache.release(step.id)
        self.hold_for_payment(step, error)
        return True

    def choose(self, step: Any, index: int, feedback: str | None) -> None:
        now = self.now()
        output = step.candidates[index]["output"]
        waited = elapsed_ms(step.ended_at, now) or 0
        if not self.repos.run_steps.move(step, StepStatus.AWAITING_SELECTION, status=StepStatus.COMPLETED,
                                         output=output, user_selection=index, user_feedback=feedback,
                                         merged_content=merged_content(output), ended_at=now,
                                         waiting_ms=(step.waiting_ms or 0) + waited):
            raise ConflictError(f"Step {step.step_key} changed meanwhile; reload and try again.")
        self.count_done(step)
        self.note("step.selected", step=step.step_key, index=index)

    def regenerate(self, step: Any) -> None:
        """More candidates for a step awaiting selection: queued again, its attempt given back
        (the claim counts one; a regeneration is not a retry), the wait for the person booked."""
        waited = elapsed_ms(step.ended_at, self.now()) or 0
        self.enqueue(step, StepStatus.AWAITING_SELECTION, attempt=step.attempt - 1,
                     regenerations=(step.regenerations or 0) + 1, waiting_ms=(step.waiting_ms or 0) + waited)

    def resume_if_nothing_awaits(self, exclude: uuid.UUID) -> None:
        if self.run.status != RunStatus.PAUSED:
            return
        waiting = [row for row in self.repos.run_steps.active(self.run.id)
                   if row.status == StepStatus.AWAITING_SELECTION and row.id != exclude]
        if not waiting:
            self.move_run(RunStatus.RUNNING, pause_reason=None)

    # Queueing -----------------------------------------------------------------------------
    def _queue_values(self, step: Any, delay: float) -> dict[str, Any]:
        return {"job_id": new_job_id(step), "next_attempt_at": self.now() + timedelta(seconds=max(0.0, delay))}

    def _after_queued(self, step: Any, delay: float) -> None:
        self.after.jobs.append((step.id, step.job_id, delay, self.spec(step).timeout))

    def enqueue(self, step: RunStep, expected: StepStatus, delay: float = 0.0, **values: Any) -> list[RunStep]:
        # A queued step whose job Redis lost (the reconciler) only gets a new job: no status move.
        if expected != StepStatus.QUEUED:
            values["status"] = StepStatus.QUEUED
        moved = self.repos.run_steps.move(
            step, expected, **self._queue_values(step, delay),
            inputs=step.inputs, input_hash=step.input_hash, skill_version=step.skill_version, **values)
        if moved:
            self._after_queued(step, delay)
            self.note("step.queued", step=step.step_key, delay=delay)
        return []

    # Endings ------------------------------------------------------------------------------
    def finished(self, step: RunStep) -> list[RunStep]:
        """A step completed (and was counted): release its dependents, finish the run if all is done."""
        self.finished_rows[step.step_key] = step
        if step.status == StepStatus.COMPLETED:
            self.note("step.completed", step=step.step_key, cache_hit=step.cache_hit,
                      reused=bool(step.reused_from_step_id), duration_ms=step.duration_ms)
        ready = self.release(step)
        self.finish_run_if_done()
        return ready

    def release(self, step: RunStep) -> list[RunStep]:
        dependents = list(step.dependents or [])
        if not dependents:
            return []
        if step.fan_index is not None:
            parent = self.repos.run_steps.by_key(self.run.id, dependents[0])
            self.repos.run_steps.move(parent, StepStatus.RUNNING, waiting_on=parent.waiting_on - 1)
            if parent.waiting_on <= 0:
                return self.complete_fan_out(parent)
            return []
        if self.pending is None:
            return self.repos.run_steps.release_dependents(self.run.id, dependents)
        ready = []
        for key in dependents:
            row = self.pending.get(key)
            if row is None or row.status != StepStatus.PENDING:
                continue
            remember(row, waiting_on=row.waiting_on - 1)
            self.released[key] += 1
            if row.waiting_on <= 0:
                ready.append(row)
        return sorted(ready, key=lambda row: row.position)

    def hold_pending(self, rows: list[Any]) -> None:
        """Count readiness in memory for these rows (a run being planned as a whole): no
        UPDATE per finished step; :meth:`write_waiting` writes what is left at the end."""
        self.pending = {row.step_key: row for row in rows if row.status == StepStatus.PENDING}

    def write_waiting(self) -> None:
        """Write back the counts of steps still pending, one UPDATE per distinct decrement."""
        by_amount: dict[int, list[str]] = {}
        for key, amount in self.released.items():
            if self.pending[key].status == StepStatus.PENDING:
                by_amount.setdefault(amount, []).append(key)
        for amount, keys in by_amount.items():
            self.repos.run_steps.count_released(self.run.id, keys, amount)
        self.released.clear()

    def await_selection(self, step: RunStep) -> None:
        self.note("step.awaiting_selection", step=step.step_key, candidates=len(step.candidates or []))
        if self.run.status == RunStatus.RUNNING:
            self.move_run(RunStatus.PAUSED, pause_reason=f"Waiting for a person to select a candidate of "
                                                        f"step {step.step_key}.")

    def hold_for_payment(self, step: RunStep, error: dict[str, Any]) -> None:
        """A step's model call could not be paid for: pause the run, saying why (its code first)."""
        self.note("step.held", step=step.step_key, error=error)
        reason = f"{error['code']}: {error['message']}"[:200]
        if self.run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            if self.run.status == RunStatus.QUEUED:
                self.move_run(RunStatus.RUNNING)
            self.move_run(RunStatus.PAUSED, pause_reason=reason)
        elif self.run.status == RunStatus.PAUSED:
            self.run.pause_reason = reason

    def count_savings(self, calls: int, tokens: int, cost: Any) -> None:
        """A step served from the cache or reused: what it did not pay again."""
        if calls or tokens:
            self.run.saved_calls += calls or 0
            self.run.saved_tokens += tokens or 0
            self.run.saved_cost_usd += cost or 0

    def skip_dependents(self, step: RunStep) -> None:
        """Steps that need a skipped step cannot run: skip them too, and what needs them."""
        stack = list(step.dependents or [])
        while stack:
            rows = self.repos.run_steps.by_keys(self.run.id, stack)
            stack = []
            for row in rows.values():
                if row.status != StepStatus.PENDING:
                    continue
                self.end_step(row, StepStatus.SKIPPED, self.error(
                    "DEPENDENCY_SKIPPED", f"Skipped because {step.step_key} was skipped."), because=step.step_key)
                stack += list(row.dependents or [])

    def fail_run(self, error: dict[str, Any], status: RunStatus) -> None:
        """End the run; steps not yet started are skipped, running ones stop at their next check."""
        if self.run.status.is_terminal:
            return
        self.skip_unstarted("RUN_ENDED", f"The run ended ({status.value}).")
        self.move_run(status, error=error)
        self.repos.transaction().publish(DomainEvent(f"run.{status.value}", str(self.run.id),
                                                     {"runId": str(self.run.id), "error": error},
                                                     tenant_id=self.run.tenant_id))

    def skip_unstarted(self, code: str, message: str) -> None:
        for row in self.repos.run_steps.active(self.run.id):
            if row.status in (StepStatus.PENDING, StepStatus.QUEUED, StepStatus.AWAITING_SELECTION,
                              StepStatus.WAITING):
                self.end_step(row, StepStatus.SKIPPED, self.error(code, message), expected=row.status)

    def finish_run_if_done(self) -> None:
        if self.run.status.is_terminal:
            return
        if self.run.steps_done < self.run.steps_total:
            return
        counts = self.repos.run_steps.count_by_status(self.run.id)
        outcome = decisions.run_outcome(self.run.steps_total, self.run.steps_done, counts.get(StepStatus.FAILED, 0))
        if outcome == RunStatus.FAILED:
            self.fail_run(self.error("STEP_FAILED", "A step failed."), RunStatus.FAILED)
            return
        if self.run.status == RunStatus.QUEUED:
            self.move_run(RunStatus.RUNNING)
        self.move_run(RunStatus.COMPLETED, pause_reason=None)
        self.repos.transaction().publish(DomainEvent(
            "run.completed", str(self.run.id),
            {"runId": str(self.run.id), "workflow": self.run.workflow_name, "durationMs": self.run.duration_ms},
            tenant_id=self.run.tenant_id))


def require_step(repos: Repositories, run: Run, step_key: str) -> RunStep:
    """:raises NotFoundError: when the run has no step with that key."""
    step = repos.run_steps.by_key(run.id, step_key)
    if step is None:
        raise NotFoundError(f"Run {run.id} has no step {step_key!r}.", {"step": step_key})
    return step


def scheduler_for(repos: Repositories, run: Run, state: Any) -> Scheduler:
    """A scheduler with the app's registry, templates, parsed-definition cache and clock."""
    clock = getattr(state, "clock", None)
    return Scheduler(repos, run, state.registry, state.templates, state.definitions,
                     clock=clock.now if clock is not None else utcnow)
