"""The engine's decisions: a run's state and one event in, the commands to carry out out.

Every choice the engine makes about a step or a run — retry or give up, skip or fail,
await a person or go on, finish the run, retry it in place — is made here, from plain
values, with no database, Redis, clock or Flask globals (like Flask's ``sansio``). The
applier (:class:`app.engine.scheduler.Scheduler`) writes the commands in the caller's
transaction; the executor, the reconciler and the run service only gather the facts and
hand the commands on. So the whole decision matrix is tested in milliseconds
(``tests/engine/test_decisions.py``).

Vocabulary: an *execution* is one time a worker ran the step (regenerations included);
an *attempt* is an execution charged to the retry budget: one that failed or was lost,
or the one that finally succeeded. Asking for more candidates is not a retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..models import AttemptOutcome
from ..statuses import RunStatus, StepStatus
from ..workflows.definition import RetryPolicy

# Facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepFacts:
    """What a decision needs to know about one step, read from its row and its spec."""

    key: str
    status: StepStatus
    attempt: int = 0
    max_attempts: int = 1
    executions: int = 0
    fan_index: int | None = None
    on_error: str = "fail"
    select: str = "first"
    cache: str = "run_only"
    retry: RetryPolicy = RetryPolicy()
    #: It has candidates already: this execution makes more of them on a person's request.
    regenerating: bool = False

    @property
    def is_fan_child(self) -> bool:
        return self.fan_index is not None


@dataclass(frozen=True)
class RunFacts:
    status: RunStatus


# Events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completed:
    """The execution numbered ``execution`` produced its candidates."""

    execution: int


@dataclass(frozen=True)
class Failed:
    """The execution numbered ``execution`` failed; ``retryable`` says whether trying again may help."""

    execution: int
    error: dict[str, Any]
    retryable: bool = True


@dataclass(frozen=True)
class Lost:
    """The reconciler found the step running with no heartbeat: its worker died."""

    error: dict[str, Any]


@dataclass(frozen=True)
class Interrupted:
    """The infrastructure (the database away) cut the execution short, not the skill: it is
    tried again without being charged to the retry budget."""

    execution: int
    error: dict[str, Any]


@dataclass(frozen=True)
class Cancelled:
    """The skill saw its run end and stopped."""

    execution: int
    reason: str


@dataclass(frozen=True)
class Held:
    """A model call of the execution could not be paid for (no credits, or the run's budget)."""

    execution: int
    error: dict[str, Any]


@dataclass(frozen=True)
class HandedOver:
    """The skill handed its work to an external generation job."""

    execution: int


@dataclass(frozen=True)
class Selected:
    index: int
    candidates: int


@dataclass(frozen=True)
class Regenerate:
    """A person asked a step awaiting selection for more candidates."""


StepEvent = Completed | Failed | Interrupted | Lost | Cancelled | Held | HandedOver | Selected | Regenerate


# Commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndExecution:
    """Move the running step (still at this execution) to ``status`` and write the execution's
    row with ``outcome``. ``with_output``: the execution's candidates are written to the step.
    ``count``: the step is done (terminal) and counted so. ``release_cache`` drops the step's
    unfinished cache claim; ``fill_cache`` makes its claim the ready entry. To ``QUEUED`` it is
    a retry after ``delay`` seconds."""

    status: StepStatus
    outcome: AttemptOutcome
    error: dict[str, Any] | None = None
    with_output: bool = False
    count: bool = False
    release_cache: bool = False
    fill_cache: bool = False
    delay: float = 0.0
    #: The execution is not charged: its attempt is given back (an interrupted one).
    give_back: bool = False


@dataclass(frozen=True)
class EndStep:
    """End a step that has no execution to record (it failed while being planned): move it to
    ``status``, drop its cache claim, count it done."""

    status: StepStatus
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Requeue:
    """Queue a step awaiting selection again: a person asked for more candidates. Not charged to
    the retry budget."""


@dataclass(frozen=True)
class HoldForPayment:
    """Put the step back to pending (its attempt given back) and pause the run with the reason."""

    error: dict[str, Any]


@dataclass(frozen=True)
class AwaitSelection:
    """The step waits for a person; the run pauses if it was running."""


@dataclass(frozen=True)
class Choose:
    """Complete an awaiting step with the candidate a person picked."""

    index: int


@dataclass(frozen=True)
class ResumeIfNothingAwaits:
    """Un-pause the run unless another step still waits for a person."""


@dataclass(frozen=True)
class ReleaseDependents:
    """The step finished: count it into its dependents and plan those now ready (a fan-out
    item counts into its for_each step)."""


@dataclass(frozen=True)
class SkipDependents:
    """The step was skipped: skip what needs it, and what needs those."""


@dataclass(frozen=True)
class FailRun:
    error: dict[str, Any]
    status: RunStatus = RunStatus.FAILED


@dataclass(frozen=True)
class FinishRunIfDone:
    """Complete (or fail) the run once every step has ended."""


@dataclass(frozen=True)
class Superseded:
    """Someone else moved the step meanwhile (the reconciler, a duplicate job): do nothing."""


Command = (EndExecution | EndStep | Requeue | HoldForPayment | AwaitSelection | Choose | ResumeIfNothingAwaits
           | ReleaseDependents | SkipDependents | FailRun | FinishRunIfDone | Superseded)


# Step decisions -----------------------------------------------------------------------------


def decide(run: RunFacts, step: StepFacts, event: StepEvent) -> list[Command]:
    """The commands that follow ``event`` on ``step`` of ``run``.

    :raises ValueError: for a selection of a candidate the step does not have.
    """
    if isinstance(event, (Selected, Regenerate)):
        return _decide_choice(step, event)
    if isinstance(event, Lost):
        if step.status != StepStatus.RUNNING:
            return [Superseded()]
        return _after_failure(run, step, event.error, retryable=True, outcome=AttemptOutcome.CRASHED,
                              run_status=RunStatus.CRASHED)
    if step.status != StepStatus.RUNNING or step.executions != event.execution:
        return [Superseded()]  # the reconciler gave this execution up for lost and moved on
    if isinstance(event, Completed):
        return _after_success(run, step)
    if isinstance(event, Failed):
        return _after_failure(run, step, event.error, retryable=event.retryable, outcome=AttemptOutcome.FAILED,
                              run_status=RunStatus.FAILED)
    if isinstance(event, Interrupted):
        if run.status.is_terminal:
            return [EndExecution(StepStatus.SKIPPED, AttemptOutcome.INTERRUPTED, error=event.error, count=True,
                                 release_cache=True)]
        return [EndExecution(StepStatus.QUEUED, AttemptOutcome.INTERRUPTED, error=event.error, give_back=True)]
    if isinstance(event, Cancelled):
        return [EndExecution(StepStatus.SKIPPED, AttemptOutcome.CANCELLED, count=True, release_cache=True,
                             error={"code": "CANCELLED", "message": event.reason})]
    if isinstance(event, Held):
        return [HoldForPayment(event.error)]
    if isinstance(event, HandedOver):
        if run.status.is_terminal:
            return [EndExecution(StepStatus.SKIPPED, AttemptOutcome.CANCELLED, count=True, release_cache=True,
                                 error={"code": "CANCELLED", "message": f"The run is {run.status.value}."})]
        return [EndExecution(StepStatus.WAITING, AttemptOutcome.WAITING)]
    raise TypeError(f"not a step event: {event!r}")


def _after_success(run: RunFacts, step: StepFacts) -> list[Command]:
    fill = step.cache != "off" and not step.regenerating
    if run.status.is_terminal:
        # The run was cancelled or failed while this step worked: keep its output, go no further.
        return [EndExecution(StepStatus.COMPLETED, AttemptOutcome.COMPLETED, with_output=True, count=True,
                             fill_cache=fill)]
    if step.select == "user":
        return [EndExecution(StepStatus.AWAITING_SELECTION, AttemptOutcome.COMPLETED, with_output=True,
                             fill_cache=fill), AwaitSelection()]
    return [EndExecution(StepStatus.COMPLETED, AttemptOutcome.COMPLETED, with_output=True, count=True,
                         fill_cache=fill), ReleaseDependents(), FinishRunIfDone()]


def _after_failure(run: RunFacts, step: StepFacts, error: dict[str, Any], *, retryable: bool,
                   outcome: AttemptOutcome, run_status: RunStatus) -> list[Command]:
    if run.status.is_terminal:
        return [EndExecution(StepStatus.SKIPPED, outcome, error=error, count=True, release_cache=True)]
    if retryable and step.attempt < step.max_attempts:
        return [EndExecution(StepStatus.QUEUED, outcome, error=error,
                             delay=step.retry.delay_before(step.attempt + 1))]
    if step.regenerating:
        # The step has candidates to choose from: failing to make more does not fail the run.
        return [EndExecution(StepStatus.AWAITING_SELECTION, outcome, error=error), AwaitSelection()]
    ending = StepStatus.SKIPPED if step.on_error == "skip" else StepStatus.FAILED
    return [EndExecution(ending, outcome, error=error, count=True, release_cache=True),
            *_after_giving_up(step, ending, error, run_status)]


def give_up(step: StepFacts, error: dict[str, Any]) -> list[Command]:
    """A step that cannot run at all (its templates or inputs are wrong, found while it was
    planned) fails for good: skipped under ``on_error: skip``, else it fails its run."""
    ending = StepStatus.SKIPPED if step.on_error == "skip" else StepStatus.FAILED
    return [EndStep(ending, error), *_after_giving_up(step, ending, error, RunStatus.FAILED)]


def _after_giving_up(step: StepFacts, ending: StepStatus, error: dict[str, Any],
                     run_status: RunStatus) -> list[Command]:
    if ending == StepStatus.SKIPPED:
        return [ReleaseDependents() if step.is_fan_child else SkipDependents(), FinishRunIfDone()]
    return [FailRun({**error, "failedStepId": step.key}, run_status)]


def _decide_choice(step: StepFacts, event: Selected | Regenerate) -> list[Command]:
    if step.status != StepStatus.AWAITING_SELECTION:
        return [Superseded()]
    if isinstance(event, Regenerate):
        return [Requeue(), ResumeIfNothingAwaits()]
    if not 0 <= event.index < event.candidates:
        raise ValueError(f"candidate {event.index} of {event.candidates}")
    return [Choose(event.index), ResumeIfNothingAwaits(), ReleaseDependents(), FinishRunIfDone()]


# Run decisions ------------------------------------------------------------------------------


def run_outcome(steps_total: int, steps_done: int, failed: int) -> RunStatus | None:
    """What a run whose steps are counted so becomes: ``None`` while steps are left."""
    if steps_done < steps_total:
        return None
    return RunStatus.FAILED if failed else RunStatus.COMPLETED


@dataclass(frozen=True)
class RetryPlan:
    """What retrying a failed run in place does to its steps."""

    #: Steps to put back to pending with a fresh attempt budget, and how many of their
    #: dependencies are still to finish.
    reset: dict[str, int] = field(default_factory=dict)
    #: Fan-out items to delete: their for_each step fans out again (items that had
    #: completed are served from the step cache, so they cost nothing again).
    drop: tuple[str, ...] = ()
    #: Steps ready at once.
    ready: tuple[str, ...] = ()


RETRYABLE_RUN = frozenset({RunStatus.FAILED, RunStatus.CRASHED})


def plan_retry(statuses: Mapping[str, StepStatus], depends_on: Mapping[str, Sequence[str]],
               fan_parent: Mapping[str, str], fan_out: Iterable[str] = ()) -> RetryPlan:
    """Retry a failed run in place: every step that did not complete goes back to pending with
    a fresh attempt budget; completed steps keep their outputs; a step still running (its
    worker had not noticed the run end) is left to finish.

    :param statuses: the status of every step row, by step key.
    :param depends_on: for each top-level step key, the keys it waits for.
    :param fan_parent: for each fan-out item's key, its for_each step's key.
    :param fan_out: the for_each steps that had fanned out (their row says running).
    """
    fan_out = set(fan_out)

    def again(key: str) -> bool:
        status = statuses.get(key)
        if status == StepStatus.RUNNING:
            return key in fan_out
        return status != StepStatus.COMPLETED

    reset_parents = {key for key in depends_on if again(key)}
    drop = tuple(sorted(key for key, parent in fan_parent.items() if parent in reset_parents))
    reset = {key: sum(1 for dep in depends_on[key] if statuses.get(dep) != StepStatus.COMPLETED)
             for key in depends_on if key in reset_parents}
    ready = tuple(key for key, waiting in reset.items() if waiting == 0)
    return RetryPlan(reset=reset, drop=drop, ready=ready)


def facts_of(row: Any, spec: Any) -> StepFacts:
    """The decision facts of a step row (a model or a record) and its spec."""
    return StepFacts(
        key=row.step_key, status=StepStatus(row.status), attempt=row.attempt or 0, max_attempts=row.max_attempts or 1,
        executions=getattr(row, "executions", 0) or 0, fan_index=row.fan_index, on_error=spec.on_error,
        select=spec.select, cache=spec.cache, retry=spec.retry, regenerating=bool(row.candidates))


def keys_of(commands: Iterable[Command]) -> list[str]:
    """The commands' kinds, in order (for logs and tests)."""
    return [type(command).__name__ for command in commands]


# Planning a ready step ----------------------------------------------------------------------


@dataclass(frozen=True)
class FanOut:
    """Make one item step per element of the for_each list."""


@dataclass(frozen=True)
class Reuse:
    """An update run's unchanged step: take the base run's finished step as it is."""


@dataclass(frozen=True)
class ServeFromCache:
    """A ready step-cache entry has this step's output: no call, no credits."""


@dataclass(frozen=True)
class Enqueue:
    """Queue the step for a worker."""


def plan_ready(*, for_each: bool, fan_child: bool, reusable: bool, cache: str, cache_ready: bool
               ) -> FanOut | Reuse | ServeFromCache | Enqueue:
    """What to do with a step whose dependencies have all finished (its inputs rendered)."""
    if for_each and not fan_child:
        return FanOut()
    if reusable:
        return Reuse()
    if cache != "off" and cache_ready:
        return ServeFromCache()
    return Enqueue()
