"""The engine's decision matrix, with no database, Redis or worker: every step event against
every step status, run status, retry budget, ``on_error``, ``select``, cache scope, fan-out
and regeneration, checked against the rules a person relies on."""

from __future__ import annotations

import itertools

import pytest

from app.engine import decisions as d
from app.models import AttemptOutcome
from app.statuses import RunStatus, StepStatus
from app.workflows.definition import RetryPolicy

ERROR = {"code": "BOOM", "message": "It broke."}
POLICY = RetryPolicy(max_attempts=3, backoff=2.0, max_interval=5.0)
EXECUTION = 4

RUN_STATUSES = [RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.CANCELLED]
BUDGETS = [(1, 1), (2, 3), (3, 3)]  # (attempt, max_attempts)

EXECUTION_EVENTS = {
    "completed": d.Completed(EXECUTION),
    "failed": d.Failed(EXECUTION, ERROR, retryable=True),
    "failed-for-good": d.Failed(EXECUTION, ERROR, retryable=False),
    "lost": d.Lost(ERROR),
    "interrupted": d.Interrupted(EXECUTION, ERROR),
    "cancelled": d.Cancelled(EXECUTION, "The run is cancelled."),
    "held": d.Held(EXECUTION, ERROR),
    "handed-over": d.HandedOver(EXECUTION),
}


def step_facts(status, attempt, max_attempts, on_error, select, cache, fan, regenerating, executions=EXECUTION):
    return d.StepFacts(key="draft[1]" if fan else "draft", status=status, attempt=attempt, max_attempts=max_attempts,
                       executions=executions, fan_index=1 if fan else None, on_error=on_error, select=select,
                       cache=cache, retry=POLICY, regenerating=regenerating)


EXECUTION_CASES = [
    pytest.param(name, run, step_facts(status, attempt, maximum, on_error, select, cache, fan, regenerating),
                 id=f"{name}-{run.value}-{status.value}-{attempt}of{maximum}-{on_error}-{select}-{cache}"
                    f"{'-item' if fan else ''}{'-regen' if regenerating else ''}")
    for name, run, status, (attempt, maximum), on_error, select, cache, fan, regenerating in itertools.product(
        EXECUTION_EVENTS, RUN_STATUSES, [StepStatus.RUNNING, StepStatus.QUEUED, StepStatus.COMPLETED],
        BUDGETS, ["fail", "skip"], ["first", "user"], ["run_only", "off"], [False, True], [False, True])
    # The cache scope only matters to a completed execution.
    # Only a running step has an execution to end; two other statuses are enough to show
    # that anything else is superseded, so those cases are thinned to keep the file fast.
    if (status == StepStatus.RUNNING and (cache == "run_only" or name == "completed"))
    or (cache == "run_only" and not fan and attempt == 1)
]


def kinds(commands) -> list[type]:
    return [type(command) for command in commands]


def assert_well_formed(commands):
    """What holds after any event: one step end at most, first; a run fails or finishes, not both."""
    ends = [c for c in commands if isinstance(c, (d.EndExecution, d.EndStep))]
    assert len(ends) <= 1
    if ends:
        assert commands[0] is ends[0]
        end = ends[0]
        if isinstance(end, d.EndExecution):
            # Only an ended step counts as done; a queued or awaiting one is not.
            assert end.count == end.status.is_terminal
            assert not (end.fill_cache and end.release_cache)
    assert not (d.FailRun in kinds(commands) and d.FinishRunIfDone in kinds(commands))
    assert not (d.FailRun in kinds(commands) and d.SkipDependents in kinds(commands))


@pytest.mark.parametrize(("name", "run_status", "step"), EXECUTION_CASES)
def test_the_end_of_an_execution(name, run_status, step):
    event = EXECUTION_EVENTS[name]
    commands = d.decide(d.RunFacts(run_status), step, event)
    assert_well_formed(commands)

    if step.status != StepStatus.RUNNING:
        # The reconciler (or a duplicate job) moved the step meanwhile: nothing is written.
        assert commands == [d.Superseded()]
        return
    run_ended = run_status.is_terminal
    first = commands[0]

    if name == "completed":
        assert isinstance(first, d.EndExecution)
        assert first.outcome == AttemptOutcome.COMPLETED and first.with_output and first.error is None
        assert first.fill_cache == (step.cache != "off" and not step.regenerating)
        if run_ended:  # keep what was made, go no further
            assert first.status == StepStatus.COMPLETED and commands == [first]
        elif step.select == "user":
            assert first.status == StepStatus.AWAITING_SELECTION
            assert kinds(commands) == [d.EndExecution, d.AwaitSelection]
        else:
            assert first.status == StepStatus.COMPLETED
            assert kinds(commands) == [d.EndExecution, d.ReleaseDependents, d.FinishRunIfDone]
        return

    if name in ("failed", "failed-for-good", "lost"):
        outcome = AttemptOutcome.CRASHED if name == "lost" else AttemptOutcome.FAILED
        assert isinstance(first, d.EndExecution) and first.outcome == outcome and first.error == ERROR
        assert not first.with_output and not first.fill_cache
        retryable = name != "failed-for-good"
        if run_ended:
            assert first.status == StepStatus.SKIPPED and first.release_cache and commands == [first]
        elif retryable and step.attempt < step.max_attempts:
            # A retry after the policy's backoff; the run goes on as it was.
            assert first.status == StepStatus.QUEUED and commands == [first]
            assert first.delay == min(5.0, 2.0 * 2 ** (step.attempt - 1))
        elif step.regenerating:
            # Failing to make more candidates leaves those it has to choose from.
            assert first.status == StepStatus.AWAITING_SELECTION
            assert kinds(commands) == [d.EndExecution, d.AwaitSelection]
        elif step.on_error == "skip":
            assert first.status == StepStatus.SKIPPED and first.release_cache
            follow = d.ReleaseDependents if step.is_fan_child else d.SkipDependents
            assert kinds(commands) == [d.EndExecution, follow, d.FinishRunIfDone]
        else:
            assert first.status == StepStatus.FAILED and first.release_cache
            (fail_run,) = commands[1:]
            assert isinstance(fail_run, d.FailRun)
            assert fail_run.status == (RunStatus.CRASHED if name == "lost" else RunStatus.FAILED)
            assert fail_run.error == {**ERROR, "failedStepId": step.key}
        return

    if name == "interrupted":
        # The database cut it short, not the skill: whatever its budget, it is tried again
        # uncharged, unless its run has ended meanwhile.
        assert kinds(commands) == [d.EndExecution]
        assert first.outcome == AttemptOutcome.INTERRUPTED and first.error == ERROR and not first.with_output
        if run_ended:
            assert first.status == StepStatus.SKIPPED and first.release_cache and not first.give_back
        else:
            assert (first.status, first.give_back, first.count) == (StepStatus.QUEUED, True, False)
        return

    if name == "cancelled":
        assert kinds(commands) == [d.EndExecution]
        assert (first.status, first.outcome) == (StepStatus.SKIPPED, AttemptOutcome.CANCELLED)
        assert first.error["code"] == "CANCELLED" and first.release_cache
        return

    if name == "held":
        assert commands == [d.HoldForPayment(ERROR)]
        return

    assert name == "handed-over"
    assert kinds(commands) == [d.EndExecution]
    if run_ended:
        assert (first.status, first.outcome) == (StepStatus.SKIPPED, AttemptOutcome.CANCELLED)
    else:
        assert (first.status, first.outcome, first.count) == (StepStatus.WAITING, AttemptOutcome.WAITING, False)


@pytest.mark.parametrize("name", [name for name in EXECUTION_EVENTS if name != "lost"])
def test_an_older_execution_of_a_running_step_is_superseded(name):
    step = step_facts(StepStatus.RUNNING, 1, 3, "fail", "first", "run_only", False, False, executions=EXECUTION + 1)
    assert d.decide(d.RunFacts(RunStatus.RUNNING), step, EXECUTION_EVENTS[name]) == [d.Superseded()]


CHOICE_CASES = [
    pytest.param(status, run, attempt, maximum, id=f"{status.value}-{run.value}-{attempt}of{maximum}")
    for status, run, (attempt, maximum) in itertools.product(StepStatus, [RunStatus.PAUSED, RunStatus.RUNNING],
                                                              BUDGETS)
]


@pytest.mark.parametrize(("status", "run_status", "attempt", "maximum"), CHOICE_CASES)
def test_regenerating_is_not_a_retry(status, run_status, attempt, maximum):
    step = step_facts(status, attempt, maximum, "fail", "user", "run_only", False, True)
    commands = d.decide(d.RunFacts(run_status), step, d.Regenerate())
    if status != StepStatus.AWAITING_SELECTION:
        assert commands == [d.Superseded()]
        return
    # Queued again whatever the budget says: asking for candidates spends no attempt.
    assert commands == [d.Requeue(), d.ResumeIfNothingAwaits()]


@pytest.mark.parametrize(("status", "run_status", "attempt", "maximum"), CHOICE_CASES)
def test_selecting_a_candidate(status, run_status, attempt, maximum):
    step = step_facts(status, attempt, maximum, "fail", "user", "run_only", False, False)
    commands = d.decide(d.RunFacts(run_status), step, d.Selected(1, candidates=3))
    if status != StepStatus.AWAITING_SELECTION:
        assert commands == [d.Superseded()]
        return
    assert commands == [d.Choose(1), d.ResumeIfNothingAwaits(), d.ReleaseDependents(), d.FinishRunIfDone()]


@pytest.mark.parametrize("index", [-1, 3, 99])
def test_a_candidate_the_step_does_not_have_cannot_be_chosen(index):
    step = step_facts(StepStatus.AWAITING_SELECTION, 1, 1, "fail", "user", "run_only", False, False)
    with pytest.raises(ValueError):
        d.decide(d.RunFacts(RunStatus.PAUSED), step, d.Selected(index, candidates=3))


@pytest.mark.parametrize(("on_error", "fan"), list(itertools.product(["fail", "skip"], [False, True])))
def test_a_step_that_cannot_even_be_planned_gives_up_at_once(on_error, fan):
    step = step_facts(StepStatus.PENDING, 0, 3, on_error, "first", "run_only", fan, False)
    commands = d.give_up(step, ERROR)
    assert_well_formed(commands)
    if on_error == "skip":
        follow = d.ReleaseDependents() if fan else d.SkipDependents()
        assert commands == [d.EndStep(StepStatus.SKIPPED, ERROR), follow, d.FinishRunIfDone()]
    else:  # not retried, whatever attempts remain: the template will not get better
        assert commands == [d.EndStep(StepStatus.FAILED, ERROR),
                            d.FailRun({**ERROR, "failedStepId": step.key}, RunStatus.FAILED)]


@pytest.mark.parametrize(("total", "done", "failed", "expected"), [
    (4, 0, 0, None), (4, 3, 0, None), (4, 3, 1, None), (4, 4, 0, RunStatus.COMPLETED),
    (4, 4, 1, RunStatus.FAILED), (0, 0, 0, RunStatus.COMPLETED), (1, 1, 1, RunStatus.FAILED),
])
def test_a_run_ends_when_every_step_has_and_fails_if_one_did(total, done, failed, expected):
    assert d.run_outcome(total, done, failed) == expected


PLAN_CASES = list(itertools.product([False, True], [False, True], [False, True], ["run_only", "global", "off"],
                                    [False, True]))


@pytest.mark.parametrize(("for_each", "fan_child", "reusable", "cache", "cache_ready"), PLAN_CASES)
def test_what_a_ready_step_becomes(for_each, fan_child, reusable, cache, cache_ready):
    choice = d.plan_ready(for_each=for_each, fan_child=fan_child, reusable=reusable, cache=cache,
                          cache_ready=cache_ready)
    if for_each and not fan_child:
        assert choice == d.FanOut()
    elif reusable:  # an update run's unchanged step wins over the cache: its own family's output
        assert choice == d.Reuse()
    elif cache_ready and cache != "off":
        assert choice == d.ServeFromCache()
    else:
        assert choice == d.Enqueue()


S = StepStatus
CHAIN = {"outline": (), "draft": ("outline",), "polish": ("draft",), "title": ("outline",)}


@pytest.mark.parametrize(("statuses", "reset", "ready"), [
    # The first step failed, the rest were skipped: everything goes again, from the first.
    ({"outline": S.FAILED, "draft": S.SKIPPED, "polish": S.SKIPPED, "title": S.SKIPPED},
     {"outline": 0, "draft": 1, "polish": 1, "title": 1}, ("outline",)),
    # A middle step failed: completed steps keep their outputs, the failed one is ready at once.
    ({"outline": S.COMPLETED, "draft": S.FAILED, "polish": S.SKIPPED, "title": S.COMPLETED},
     {"draft": 0, "polish": 1}, ("draft",)),
    # A step still running when the run failed is left to finish.
    ({"outline": S.COMPLETED, "draft": S.FAILED, "polish": S.SKIPPED, "title": S.RUNNING},
     {"draft": 0, "polish": 1}, ("draft",)),
])
def test_retrying_a_failed_run_resets_what_did_not_complete(statuses, reset, ready):
    plan = d.plan_retry(statuses, CHAIN, fan_parent={})
    assert plan.reset == reset
    assert plan.ready == ready
    assert plan.drop == ()


def test_retrying_a_run_whose_fan_out_failed_fans_out_again():
    statuses = {"outline": S.COMPLETED, "draft": S.RUNNING, "draft[0]": S.COMPLETED, "draft[1]": S.FAILED,
                "polish": S.SKIPPED, "title": S.COMPLETED}
    plan = d.plan_retry(statuses, CHAIN, fan_parent={"draft[0]": "draft", "draft[1]": "draft"}, fan_out=["draft"])
    # Both items go: the for_each step makes them again (the completed one from the cache).
    assert plan.drop == ("draft[0]", "draft[1]")
    assert plan.reset == {"draft": 0, "polish": 1}
    assert plan.ready == ("draft",)


def test_the_matrix_is_large_enough_to_mean_something():
    assert len(EXECUTION_CASES) + 2 * len(CHOICE_CASES) + len(PLAN_CASES) >= 300
