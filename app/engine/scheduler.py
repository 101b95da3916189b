"""The scheduler: inside one transaction on a locked run, decide what happens next.

When a step finishes, its dependents' ``waiting_on`` counters go down; a step whose
counter reaches zero is planned: its templates are rendered, its input hash computed, and
then it is either reused (an update run's unchanged step), served from the step cache,
fanned out (``for_each``), or queued for a worker. Reuse and cache hits finish at once and
release their own dependents, so a fully cached run completes without any job at all.

Work that must wait for the commit — enqueueing jobs, publishing progress — is collected
in :class:`AfterCommit` and done by the caller once the transaction has committed.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError as SchemaValidationError

from ..errors import NotFoundError
from ..events import DomainEvent
from ..models import Run, RunStep, utcnow
from ..registry import PluginRegistry
from ..repositories import Repositories
from ..repositories.records import remember
from ..workflows.definition import StepSpec, WorkflowDefinition
from ..workflows.templates import TemplateEngine, TemplateProblem
from .definitions import DefinitionCache, RunSnapshot
from .planner import (
    StepState,
    cache_key,
    fan_out_key,
    input_hash,
    merged_content,
    model_options,
    template_context,
)
from .skill_schemas import input_schema
from ..statuses import RunStatus, StepStatus, check_run_move

log = logging.getLogger(__name__)


@dataclass
class AfterCommit:
    """Jobs to enqueue and progress to publish once the transaction has committed."""

    #: ``(step id, job id, delay in seconds, timeout in seconds or None for the default)``
    jobs: list[tuple[uuid.UUID, str, float, int | None]] = field(default_factory=list)
    progress: list[tuple[uuid.UUID, str, dict[str, Any]]] = field(default_factory=list)

    def extend(self, other: "AfterCommit") -> None:
        self.jobs += other.jobs
        self.progress += other.progress


def new_job_id(step: RunStep) -> str:
    return f"step-{step.id}-{uuid.uuid4().hex[:8]}"


def step_state(row: RunStep) -> StepState:
    return StepState(output=row.output, selection=row.user_selection, feedback=row.user_feedback,
                     candidates=tuple(c.get("output") for c in row.candidates or ()))


class StepFailure(Exception):
    """A step cannot run: its templates or inputs are wrong. Not retried."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details,
                "timestamp": utcnow().isoformat()}


class Scheduler:
    """Plans one run's steps. Use inside ``repos.transaction()`` and ``repos.runs.locked(...)``."""

    def __init__(self, repos: Repositories, run: Run, registry: PluginRegistry, templates: TemplateEngine,
                 definitions: DefinitionCache | None = None) -> None:
        self.repos = repos
        self.run = run
        self.registry = registry
        self.templates = templates
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

    def _count_done(self, step: RunStep) -> None:
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
        now = utcnow()
        if status == RunStatus.RUNNING and self.run.started_at is None:
            self.run.started_at = now
        if status.is_terminal:
            self.run.completed_at = now
            started = self.run.started_at or self.run.created_at
            self.run.duration_ms = int((now - started).total_seconds() * 1000)
        self.note(f"run.{status.value}", status=status.value, progress=self.run.progress,
                  error=self.run.error, pause_reason=self.run.pause_reason)

    # Planning ---------------------------------------------------------------------------
    def plan(self, ready: list[RunStep]) -> None:
        """Plan every ready step, and whatever becomes ready because some finished at once."""
        worklist = list(ready)
        while worklist:
            step = worklist.pop(0)
            if step.status != StepStatus.PENDING or self.run.status.is_terminal:
                continue
            worklist += self.plan_step(step)

    def _finished_dependencies(self, spec: StepSpec) -> dict[str, StepState]:
        # Steps finished in this transaction are at hand; only the others are read.
        known = {key: self.finished_rows[key] for key in spec.depends_on if key in self.finished_rows}
        missing = [key for key in spec.depends_on if key not in known]
        rows = {**known, **self.repos.run_steps.by_keys(self.run.id, missing)}
        return {key: step_state(row) for key, row in rows.items()}

    def _render_inputs(self, step: RunStep, spec: StepSpec, context: dict[str, Any]) -> dict[str, Any]:
        try:
            rendered = self.templates.render(spec.with_, context)
        except TemplateProblem as exc:
            raise StepFailure("TEMPLATE_ERROR", f"A template of step {step.step_key} failed: {exc}") from exc
        skill = self.registry.skills.get(step.skill)
        if skill is None:
            raise StepFailure("SKILL_NOT_INSTALLED", f"The skill {step.skill!r} is not installed or enabled.")
        try:
            loaded = input_schema(skill).load(rendered)
        except SchemaValidationError as exc:
            raise StepFailure("INVALID_STEP_INPUT", f"The inputs of step {step.step_key} do not fit skill "
                                                    f"{step.skill}.", {"fields": exc.messages}) from exc
        # What the skill receives is what the hash covers; keep it JSON-shaped.
        return input_schema(skill).dump(loaded)

    def plan_step(self, step: RunStep) -> list[RunStep]:
        """Plan one ready step. Returns steps that became ready because this one finished."""
        spec = self.spec(step)
        finished = self._finished_dependencies(spec)
        try:
            if spec.for_each and step.fan_index is None:
                return self.fan_out(step, spec, finished)
            item = None
            if step.fan_index is not None:
                item = (step.inputs or {}).get("__item__")
            context = template_context(self.run.inputs, finished, item=item, index=step.fan_index)
            inputs = self._render_inputs(step, spec, context)
        except StepFailure as failure:
            return self.fail(step, failure.as_error(), retryable=False)
        skill = self.registry.skills[step.skill]
        options = model_options(spec, self.definition.defaults)
        # Kept on the row in memory only: whichever move comes next writes them.
        remember(step, inputs=inputs, skill_version=skill.version,
                 input_hash=input_hash(inputs, step.skill, skill.version, options))

        reused = self.reusable(step)
        if reused is not None:
            return self.reuse(step, reused)
        if spec.cache != "off":
            entry = self.repos.step_cache.peek(self.cache_key(step, spec))
            if entry is not None and entry.ready:
                return self.serve_from_cache(step, spec, entry)
        return self.enqueue(step, StepStatus.PENDING)

    def cache_key(self, step: RunStep, spec: StepSpec) -> str:
        return cache_key(self.run.tenant_id, self.run.workflow_name, spec.id, step.input_hash, spec.cache,
                         self.run.root_run_id)

    def fan_out(self, step: RunStep, spec: StepSpec, finished: dict[str, StepState]) -> list[RunStep]:
        try:
            items = self.templates.render(spec.for_each, template_context(self.run.inputs, finished))
        except TemplateProblem as exc:
            raise StepFailure("TEMPLATE_ERROR", f"The for_each of step {step.step_key} failed: {exc}") from exc
        if not isinstance(items, (list, tuple)):
            raise StepFailure("FOR_EACH_NOT_A_LIST", f"The for_each of step {step.step_key} gave "
                                                     f"{type(items).__name__}, not a list.")
        now = utcnow()
        self.repos.run_steps.move(step, StepStatus.PENDING, status=StepStatus.RUNNING, is_fan_out=True,
                                  waiting_on=len(items), started_at=now, inputs={"items": list(items)})
        children = [
            RunStep(run_id=self.run.id, step_key=fan_out_key(spec.id, index), step_id=spec.id, fan_index=index,
                    position=step.position, skill=step.skill, status=StepStatus.PENDING, waiting_on=0,
                    dependents=[step.step_key], inputs={"__item__": item}, max_attempts=step.max_attempts)
            for index, item in enumerate(items)
        ]
        self.repos.run_steps.add_all(children)
        self.run.steps_total += len(children)
        self.note("step.fanned_out", step=step.step_key, items=len(children))
        if not children:
            return self.complete_fan_out(step)
        return children

    def complete_fan_out(self, parent: RunStep) -> list[RunStep]:
        rows = self.repos.run_steps.list(RunStep.run_id == self.run.id, RunStep.step_id == parent.step_id,
                                         RunStep.fan_index.is_not(None), order_by=[RunStep.fan_index])
        output = [row.output if row.status == StepStatus.COMPLETED else None for row in rows]
        now = utcnow()
        self.repos.run_steps.move(parent, StepStatus.RUNNING, status=StepStatus.COMPLETED, output=output,
                                  ended_at=now, duration_ms=_duration(parent.started_at, now))
        return self.finished(parent)

    # Reuse and cache ----------------------------------------------------------------------
    def reusable(self, step: RunStep) -> RunStep | None:
        """The base run's finished step with the same key and input hash, for an update run."""
        if self.run.base_run_id is None:
            return None
        if self._base_steps is None:
            base = self.repos.run_steps.of_run(self.run.base_run_id)
            self._base_steps = {row.step_key: row for row in base}
        found = self._base_steps.get(step.step_key)
        if found and found.status == StepStatus.COMPLETED and found.input_hash == step.input_hash:
            return found
        return None

    def reuse(self, step: RunStep, source: RunStep) -> list[RunStep]:
        now = utcnow()
        self.repos.run_steps.move(
            step, StepStatus.PENDING, status=StepStatus.COMPLETED, output=source.output,
            candidates=source.candidates, user_selection=source.user_selection,
            user_feedback=source.user_feedback, merged_content=source.merged_content,
            output_artifact_ids=source.output_artifact_ids, reused_from_step_id=source.id,
            inputs=step.inputs, input_hash=step.input_hash, skill_version=step.skill_version,
            started_at=now, ended_at=now, duration_ms=0)
        self.note("step.reused", step=step.step_key, source=str(source.id))
        self.count_savings(source.model_calls, source.tokens_input + source.tokens_output, source.cost_usd)
        return self.finished(step)

    def serve_from_cache(self, step: RunStep, spec: StepSpec, entry: Any,
                         expected: StepStatus = StepStatus.PENDING, **extra: Any) -> list[RunStep]:
        now = utcnow()
        values = dict(candidates=entry.candidates, output_artifact_ids=entry.artifact_ids, cache_hit=True,
                      inputs=step.inputs, input_hash=step.input_hash, skill_version=step.skill_version,
                      started_at=step.started_at or now, ended_at=now, duration_ms=0, **extra)
        saved = (entry.model_calls, entry.tokens_input + entry.tokens_output, entry.cost_usd)
        if spec.select == "user":
            if self.repos.run_steps.move(step, expected, status=StepStatus.AWAITING_SELECTION, **values):
                self.count_savings(*saved)
                self.note("step.cache_hit", step=step.step_key)
                self.await_selection(step)
            return []
        if not self.repos.run_steps.move(step, expected, status=StepStatus.COMPLETED, output=entry.data,
                                         merged_content=merged_content(entry.data), worker_name=None, **values):
            return []
        self.count_savings(*saved)
        self.note("step.cache_hit", step=step.step_key)
        return self.finished(step)

    # Queueing -----------------------------------------------------------------------------
    def enqueue(self, step: RunStep, expected: StepStatus, delay: float = 0.0, **values: Any) -> list[RunStep]:
        job_id = new_job_id(step)
        next_at = utcnow() + timedelta(seconds=max(0.0, delay))
        # A queued step whose job Redis lost (the reconciler) only gets a new job: no status move.
        if expected != StepStatus.QUEUED:
            values["status"] = StepStatus.QUEUED
        moved = self.repos.run_steps.move(
            step, expected, job_id=job_id, next_attempt_at=next_at,
            inputs=step.inputs, input_hash=step.input_hash, skill_version=step.skill_version, **values)
        if moved:
            self.after.jobs.append((step.id, job_id, delay, self.spec(step).timeout))
            self.note("step.queued", step=step.step_key, delay=delay)
        return []

    # Endings ------------------------------------------------------------------------------
    def finished(self, step: RunStep) -> list[RunStep]:
        """A step completed: count it, release its dependents, finish the run if all is done."""
        self.finished_rows[step.step_key] = step
        self._count_done(step)
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

    def fail(self, step: RunStep, error: dict[str, Any], retryable: bool = False) -> list[RunStep]:
        """A step failed for good: skip it (``on_error: skip``) or fail the run."""
        spec = self.spec(step)
        now = utcnow()
        ending = StepStatus.SKIPPED if spec.on_error == "skip" else StepStatus.FAILED
        self.repos.run_steps.move(
            step, [StepStatus.PENDING, StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.WAITING],
            status=ending, error=error, ended_at=now, duration_ms=_duration(step.started_at, now))
        self.repos.step_cache.release(step.id)
        self._count_done(step)
        self.note(f"step.{ending.value}", step=step.step_key, error=error)
        if ending == StepStatus.SKIPPED:
            ready = self.skip_dependents(step) if step.fan_index is None else self.release(step)
            self.finish_run_if_done()
            return ready
        self.fail_run({**error, "failedStepId": step.step_key}, RunStatus.FAILED)
        return []

    def skip_dependents(self, step: RunStep) -> list[RunStep]:
        """Steps that need a skipped step cannot run: skip them too, and what needs them."""
        stack = list(step.dependents or [])
        while stack:
            rows = self.repos.run_steps.by_keys(self.run.id, stack)
            stack = []
            for row in rows.values():
                if row.status != StepStatus.PENDING:
                    continue
                self.repos.run_steps.move(row, StepStatus.PENDING, status=StepStatus.SKIPPED,
                                          error={"code": "DEPENDENCY_SKIPPED",
                                                 "message": f"Skipped because {step.step_key} was skipped."})
                self._count_done(row)
                self.note("step.skipped", step=row.step_key, because=step.step_key)
                stack += list(row.dependents or [])
        return []

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
                self.repos.run_steps.move(row, row.status, status=StepStatus.SKIPPED,
                                          error={"code": code, "message": message}, ended_at=utcnow())
                self.repos.step_cache.release(row.id)
                self._count_done(row)

    def finish_run_if_done(self) -> None:
        if self.run.status.is_terminal or self.run.steps_done < self.run.steps_total:
            return
        counts = self.repos.run_steps.count_by_status(self.run.id)
        if counts.get(StepStatus.FAILED):
            self.fail_run({"code": "STEP_FAILED", "message": "A step failed."}, RunStatus.FAILED)
            return
        if self.run.status == RunStatus.QUEUED:
            self.move_run(RunStatus.RUNNING)
        self.move_run(RunStatus.COMPLETED, pause_reason=None)
        self.repos.transaction().publish(DomainEvent(
            "run.completed", str(self.run.id),
            {"runId": str(self.run.id), "workflow": self.run.workflow_name, "durationMs": self.run.duration_ms},
            tenant_id=self.run.tenant_id))


def _duration(started: Any, ended: Any) -> int | None:
    if started is None or ended is None:
        return None
    return int((ended - started).total_seconds() * 1000)


def require_step(repos: Repositories, run: Run, step_key: str) -> RunStep:
    """:raises NotFoundError: when the run has no step with that key."""
    step = repos.run_steps.by_key(run.id, step_key)
    if step is None:
        raise NotFoundError(f"Run {run.id} has no step {step_key!r}.", {"step": step_key})
    return step


def scheduler_for(repos: Repositories, run: Run, state: Any) -> Scheduler:
    """A scheduler with the app's registry, templates and parsed-definition cache."""
    return Scheduler(repos, run, state.registry, state.templates, state.definitions)
