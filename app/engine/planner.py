"""The planner: every decision of the engine that needs no I/O.

Which steps wait on which, what a step's template context is, what its input hash and
cache key are, which steps a branch redoes. Like Flask's ``sansio``, nothing here touches
the database, Redis or the Flask globals, so it is tested with plain values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..workflows.definition import StepSpec, WorkflowDefinition


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spacing: equal data always gives equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def model_options(step: StepSpec, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The model settings a step runs with: its own, else the workflow's defaults."""
    return {
        "model": step.model or defaults.get("model"),
        "temperature": step.temperature if step.temperature is not None else defaults.get("temperature"),
        "max_tokens": step.max_tokens or defaults.get("max_tokens"),
        "candidates": step.candidate_count,
        "models": list(step.models),
    }


def input_hash(inputs: Any, skill: str, skill_version: str | None, options: Mapping[str, Any]) -> str:
    """sha256 of the canonical resolved inputs, skill name and version, and model options.

    Two steps with the same hash would do the same work, so one may reuse the other's output.
    """
    payload = canonical_json({"inputs": inputs, "skill": skill, "skill_version": skill_version or "",
                              "options": dict(options)})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache_key(tenant_id: Any, workflow: str, step_id: str, step_input_hash: str, scope: str,
              root_run_id: Any) -> str:
    """Seed 004's ``hash(workflowName + stepId + inputHash)``, within one tenant, and within
    one family of runs (a run, its branches and updates) for the ``run_only`` scope."""
    family = str(root_run_id) if scope == "run_only" else "*"
    raw = "\x1f".join([str(tenant_id), workflow, step_id, step_input_hash, scope, family])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StepState:
    """What a later step's templates may read of a finished step."""

    output: Any = None
    selection: int | None = None
    feedback: str | None = None
    candidates: tuple[Any, ...] = ()

    def as_template_value(self) -> dict[str, Any]:
        return {"output": self.output, "selection": self.selection, "feedback": self.feedback,
                "candidates": list(self.candidates)}


def template_context(inputs: Mapping[str, Any], finished: Mapping[str, StepState], item: Any = None,
                     index: int | None = None) -> dict[str, Any]:
    """The variables a step's templates see: ``inputs``, ``steps`` and, in a for_each, ``item``."""
    context = {"inputs": dict(inputs), "steps": {key: state.as_template_value() for key, state in finished.items()}}
    if index is not None:
        context["item"], context["index"] = item, index
    return context


def waiting_counts(definition: WorkflowDefinition, done: Iterable[str] = ()) -> dict[str, int]:
    """For each step, how many of its dependencies are not done yet (0: ready to plan)."""
    done = set(done)
    return {step.id: sum(1 for dep in step.depends_on if dep not in done) for step in definition.steps}


def ready_steps(definition: WorkflowDefinition, done: Iterable[str], started: Iterable[str] = ()) -> list[str]:
    """Steps whose dependencies are all done and that have not started, in definition order."""
    done, started = set(done), set(started)
    return [step.id for step in definition.steps
            if step.id not in done and step.id not in started and all(dep in done for dep in step.depends_on)]


def branch_redo(definition: WorkflowDefinition, branch_point: str) -> set[str]:
    """The steps a branch from ``branch_point`` runs again: that step and all that follow from it."""
    return {branch_point} | definition.descendants(branch_point)


def fan_out_key(step_id: str, index: int) -> str:
    return f"{step_id}[{index}]"


def text_of(output: Any) -> str | None:
    """An output's text as a person reads it (its ``text``, ``content`` or ``markdown``), if any."""
    if isinstance(output, dict):
        for key in ("text", "content", "markdown"):
            if isinstance(output.get(key), str):
                return output[key]
    if isinstance(output, str):
        return output
    return None


def merged_content(output: Any) -> str:
    """The text a person picked: a candidate's ``text`` (or ``content``), else its JSON."""
    text = text_of(output)
    return text if text is not None else canonical_json(output)


def elapsed_ms(started: Any, ended: Any) -> int | None:
    """Milliseconds from ``started`` to ``ended`` (``None`` when either is unknown)."""
    if started is None or ended is None:
        return None
    return int((ended - started).total_seconds() * 1000)
