"""Planning a ready step: the half of the scheduler that turns a step whose dependencies
finished into work.

It renders the step's templates against what its dependencies produced, checks the inputs
against the skill's schema and computes the input hash; then, as
:func:`~app.engine.decisions.plan_ready` says, it fans the step out (``for_each``), reuses an
update run's unchanged step, serves it from the step cache, or queues it for a worker. A
template, input or ``for_each`` that fails is that step's failure (``TEMPLATE_ERROR`` with the
template's line, ``INVALID_STEP_INPUT``, ``FOR_EACH_NOT_A_LIST``), given up at once.

:class:`StepPlanning` is mixed into :class:`~app.engine.scheduler.Scheduler` and uses its
state (the locked run, repositories, templates, the after-commit work) and its writes
(``apply``, ``enqueue``, ``count_done``, ``finished``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError as SchemaValidationError

from ..models import RunStep
from ..repositories.records import remember
from ..statuses import StepStatus
from ..workflows.definition import StepSpec
from ..workflows.templates import TemplateProblem
from . import decisions
from .decisions import facts_of
from .planner import (
    StepState,
    cache_key,
    elapsed_ms,
    fan_out_key,
    input_hash,
    merged_content,
    model_options,
    template_context,
)
from .skill_schemas import input_schema
from .step_errors import TEMPLATE_ERROR


def step_state(row: RunStep) -> StepState:
    return StepState(output=row.output, selection=row.user_selection, feedback=row.user_feedback,
                     candidates=tuple(c.get("output") for c in row.candidates or ()))


class StepFailure(Exception):
    """A step cannot run: its templates or inputs are wrong. Not retried."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


def _template_details(exc: BaseException) -> dict[str, Any]:
    """Where in the template it failed, when Jinja knows (a syntax or render error's line)."""
    cause = exc.__cause__ or exc
    line = getattr(cause, "lineno", None)
    return {"line": line} if isinstance(line, int) else {}


class StepPlanning:
    """Planning ready steps; a part of :class:`~app.engine.scheduler.Scheduler`."""

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

    def _render(self, step: RunStep, what: str, template: Any, context: dict[str, Any]) -> Any:
        """Render a step's templates; any failure is that step's ``TEMPLATE_ERROR``, with the
        template's own words (and line, when the template says)."""
        try:
            return self.templates.render(template, context)
        except TemplateProblem as exc:  # TEMPLATE_ERROR, or TEMPLATE_BUDGET_EXCEEDED
            raise StepFailure(exc.code, f"{what} of step {step.step_key} failed: {exc}",
                              _template_details(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - a sandboxed template can raise anything; it is the step's
            raise StepFailure(TEMPLATE_ERROR, f"{what} of step {step.step_key} failed: {exc or type(exc).__name__}",
                              _template_details(exc)) from exc

    def _render_inputs(self, step: RunStep, spec: StepSpec, context: dict[str, Any]) -> dict[str, Any]:
        rendered = self._render(step, "A template", spec.with_, context)
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
            item = (step.inputs or {}).get("__item__") if step.fan_index is not None else None
            context = template_context(self.run.inputs, finished, item=item, index=step.fan_index)
            inputs = self._render_inputs(step, spec, context)
        except StepFailure as failure:
            self.apply(step, decisions.give_up(facts_of(step, spec), self.error(failure.code, failure.message,
                                                                                **failure.details)))
            return []
        skill = self.registry.skills[step.skill]
        options = model_options(spec, self.definition.defaults)
        # Kept on the row in memory only: whichever move comes next writes them.
        remember(step, inputs=inputs, skill_version=skill.version,
                 input_hash=input_hash(inputs, step.skill, skill.version, options))
        reused = self.reusable(step)
        entry = self.repos.step_cache.peek(self.cache_key(step, spec)) if spec.cache != "off" and reused is None \
            else None
        choice = decisions.plan_ready(for_each=False, fan_child=step.fan_index is not None,
                                      reusable=reused is not None, cache=spec.cache,
                                      cache_ready=entry is not None and entry.ready)
        if isinstance(choice, decisions.Reuse):
            return self.reuse(step, reused)
        if isinstance(choice, decisions.ServeFromCache):
            return self.serve_from_cache(step, spec, entry)
        return self.enqueue(step, StepStatus.PENDING)

    def cache_key(self, step: RunStep, spec: StepSpec) -> str:
        return cache_key(self.run.tenant_id, self.run.workflow_name, spec.id, step.input_hash, spec.cache,
                         self.run.root_run_id)

    def fan_out(self, step: RunStep, spec: StepSpec, finished: dict[str, StepState]) -> list[RunStep]:
        items = self._render(step, "The for_each", spec.for_each, template_context(self.run.inputs, finished))
        if not isinstance(items, (list, tuple)):
            raise StepFailure("FOR_EACH_NOT_A_LIST", f"The for_each of step {step.step_key} gave "
                                                     f"{type(items).__name__}, not a list.")
        now = self.now()
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
        now = self.now()
        self.repos.run_steps.move(parent, StepStatus.RUNNING, status=StepStatus.COMPLETED, output=output,
                                  ended_at=now, duration_ms=elapsed_ms(parent.started_at, now))
        self.count_done(parent)
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
        now = self.now()
        self.repos.run_steps.move(
            step, StepStatus.PENDING, status=StepStatus.COMPLETED, output=source.output,
            candidates=source.candidates, user_selection=source.user_selection,
            user_feedback=source.user_feedback, merged_content=source.merged_content,
            output_artifact_ids=source.output_artifact_ids, reused_from_step_id=source.id,
            inputs=step.inputs, input_hash=step.input_hash, skill_version=step.skill_version,
            started_at=now, ended_at=now, duration_ms=0)
        self.note("step.reused", step=step.step_key, source=str(source.id))
        self.count_savings(source.model_calls, source.tokens_input + source.tokens_output, source.cost_usd)
        self.count_done(step)
        return self.finished(step)

    def serve_from_cache(self, step: RunStep, spec: StepSpec, entry: Any,
                         expected: StepStatus = StepStatus.PENDING, **extra: Any) -> list[RunStep]:
        now = self.now()
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
        self.count_done(step)
        return self.finished(step)
