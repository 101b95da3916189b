"""A workflow as Inkwright runs it: inputs, defaults and steps (seed 001's PipelineConfiguration).

Plain frozen data, built only by :mod:`app.workflows.loader` after full validation, and
stored on every run as a dict (``to_dict``) so a run always knows the exact definition it
ran, whatever happens to the workflow afterwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

INPUT_TYPES = ("string", "text", "integer", "number", "boolean", "enum", "list")
CACHE_SCOPES = ("global", "run_only", "off")
SELECT_MODES = ("first", "user")
ON_ERROR = ("fail", "skip")

#: What a template may read of another step: ``steps.<id>.<field>``.
STEP_FIELDS = ("output", "selection", "feedback", "candidates")


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    has_default: bool = False
    description: str = ""
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing step is tried, and how long to wait in between.

    The wait before attempt ``n + 1`` is ``backoff * 2 ** (n - 1)`` seconds, capped at
    ``max_interval``. ``on_invalid_output`` also retries output the skill's schema refuses.
    """

    max_attempts: int = 1
    backoff: float = 1.0
    max_interval: float = 60.0
    on_invalid_output: bool = True

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before starting ``attempt`` (2 is the first retry)."""
        if attempt <= 1:
            return 0.0
        return min(self.max_interval, self.backoff * 2 ** (attempt - 2))


@dataclass(frozen=True)
class StepSpec:
    id: str
    skill: str
    with_: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    for_each: str | None = None
    candidates: int = 1
    models: tuple[str, ...] = ()
    select: str = "first"
    cache: str = "run_only"
    retry: RetryPolicy = RetryPolicy()
    timeout: int | None = None
    on_error: str = "fail"
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    line: int | None = None
    #: Every step this one depends on: ``needs`` plus the steps its templates read.
    depends_on: tuple[str, ...] = ()

    @property
    def candidate_count(self) -> int:
        return len(self.models) if self.models else self.candidates


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    version: str
    description: str = ""
    inputs: tuple[InputSpec, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    steps: tuple[StepSpec, ...] = ()

    def step(self, step_id: str) -> StepSpec:
        """The step with this id (a dict lookup: schedulers ask for every step of big runs)."""
        index = self.__dict__.get("_index")
        if index is None:
            index = {step.id: step for step in self.steps}
            object.__setattr__(self, "_index", index)
        return index[step_id]

    def dependents(self) -> dict[str, tuple[str, ...]]:
        """For each step, the steps that depend on it, in definition order."""
        found: dict[str, list[str]] = {step.id: [] for step in self.steps}
        for step in self.steps:
            for dependency in step.depends_on:
                found[dependency].append(step.id)
        return {key: tuple(value) for key, value in found.items()}

    def descendants(self, step_id: str) -> set[str]:
        """Every step that depends, directly or not, on ``step_id``."""
        dependents = self.dependents()
        seen: set[str] = set()
        stack = [step_id]
        while stack:
            for child in dependents[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WorkflowDefinition":
        steps = []
        for raw in data["steps"]:
            raw = dict(raw)
            raw["retry"] = RetryPolicy(**raw["retry"])
            for key in ("needs", "models", "depends_on"):
                raw[key] = tuple(raw[key])
            steps.append(StepSpec(**raw))
        inputs = [InputSpec(**{**raw, "choices": tuple(raw["choices"])}) for raw in data["inputs"]]
        return cls(name=data["name"], version=data["version"], description=data["description"],
                   inputs=tuple(inputs), defaults=dict(data["defaults"]), steps=tuple(steps))
