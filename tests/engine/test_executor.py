"""The executor (app/engine/executor.py), the job a worker runs per step: attempts and
retries, output checks, candidates, identical steps computing once, and a running skill
stopping when its run is cancelled."""

from __future__ import annotations

import time

from app.models import AttemptOutcome
from app.statuses import RunStatus, StepStatus

RETRYING = """
name: retrying
version: "1"
steps:
  - id: flaky
    skill: test.echo
    retry: {max_attempts: MAX, backoff: 0}
    with: {text: finally, fail_until_attempt: 3}
  - id: after
    skill: test.echo
    with: {text: "{{ steps.flaky.output.text }}!"}
"""


def test_a_failing_step_is_retried_until_it_succeeds_with_an_attempt_row_per_try(studio, run_jobs):
    run = studio.start(RETRYING.replace("MAX", "3"))
    run_jobs()

    run = studio.run(run.id)
    step = studio.steps(run.id)["flaky"]
    attempts = studio.attempts(run.id)["flaky"]
    assert (run.status, step.status, step.attempt) == (RunStatus.COMPLETED, StepStatus.COMPLETED, 3)
    assert [(a.number, a.outcome) for a in attempts] == [
        (1, AttemptOutcome.FAILED), (2, AttemptOutcome.FAILED), (3, AttemptOutcome.COMPLETED)]
    for failed in attempts[:2]:
        assert failed.error["code"] == "TRANSIENT_FAILURE"
        assert failed.error["attempt"] == failed.number
        assert "failing on purpose" in failed.error["message"]
    assert attempts[2].error is None
    assert step.error is None
    assert studio.steps(run.id)["after"].output["text"] == "finally!"


def test_a_step_out_of_attempts_fails_and_fails_the_run(studio, run_jobs):
    run = studio.start(RETRYING.replace("MAX", "2"))
    run_jobs()

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    assert [a.outcome for a in studio.attempts(run.id)["flaky"]] == [AttemptOutcome.FAILED] * 2
    assert (steps["flaky"].status, steps["flaky"].error["code"]) == (StepStatus.FAILED, "TRANSIENT_FAILURE")
    assert (steps["after"].status, steps["after"].error["code"]) == (StepStatus.SKIPPED, "RUN_ENDED")
    assert run.status == RunStatus.FAILED
    assert (run.error["code"], run.error["failedStepId"]) == ("TRANSIENT_FAILURE", "flaky")
    assert studio.attempts(run.id)["after"] == []


INVALID_OUTPUT = """
name: invalid-output
version: "1"
steps:
  - id: shaky
    skill: test.echo
    retry: {max_attempts: 3, backoff: 0, on_invalid_output: RETRY}
    with: {text: shaky, invalid_output_until_attempt: 2}
"""


def test_output_the_skill_schema_refuses_is_retried_when_the_policy_says_so(studio, run_jobs):
    run = studio.start(INVALID_OUTPUT.replace("RETRY", "true"))
    run_jobs()

    step = studio.steps(run.id)["shaky"]
    attempts = studio.attempts(run.id)["shaky"]
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED, AttemptOutcome.COMPLETED]
    assert attempts[0].error["code"] == "INVALID_OUTPUT"
    assert "digest" in attempts[0].error["details"]["fields"]
    assert set(step.output) == {"text", "digest", "candidate", "artifact_id"}


def test_invalid_output_fails_at_once_when_the_policy_does_not_retry_it(studio, run_jobs):
    run = studio.start(INVALID_OUTPUT.replace("RETRY", "false"))
    run_jobs()

    step = studio.steps(run.id)["shaky"]
    assert [a.outcome for a in studio.attempts(run.id)["shaky"]] == [AttemptOutcome.FAILED]
    assert (step.status, step.error["code"], step.output) == (StepStatus.FAILED, "INVALID_OUTPUT", None)
    assert studio.run(run.id).error["failedStepId"] == "shaky"


# Candidates -----------------------------------------------------------------------------
CANDIDATES = """
name: candidates
version: "1"
steps:
  - id: draft
    skill: test.echo
    candidates: CANDIDATES
    with: {text: owls}
  - id: next
    skill: test.echo
    with: {text: "{{ steps.draft.output.text }} / {{ steps.draft.candidates | length }}"}
"""


def test_a_step_with_three_candidates_makes_three_distinct_ones_and_goes_on_with_the_first(studio, run_jobs):
    run = studio.start(CANDIDATES.replace("CANDIDATES", "3"))
    run_jobs()

    steps = studio.steps(run.id)
    candidates = steps["draft"].candidates
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [c["index"] for c in candidates] == [0, 1, 2]
    assert [c["output"]["text"] for c in candidates] == ["owls", "owls (candidate 2)", "owls (candidate 3)"]
    assert len({c["output"]["digest"] for c in candidates}) == 3
    assert steps["draft"].output == candidates[0]["output"]
    assert steps["draft"].user_selection is None
    assert steps["next"].output["text"] == "owls / 3"
    assert len(studio.attempts(run.id)["draft"]) == 1  # one attempt makes every candidate


def test_candidates_named_by_model_record_each_model(studio, run_jobs):
    run = studio.start(CANDIDATES.replace("CANDIDATES", '["offline:writer", "openai:gpt-4o-mini"]'))
    run_jobs()

    candidates = studio.steps(run.id)["draft"].candidates
    assert [(c["index"], c["model"]) for c in candidates] == [(0, "offline:writer"), (1, "openai:gpt-4o-mini")]
    assert studio.steps(run.id)["next"].output["text"] == "owls / 2"


# Identical steps compute once -----------------------------------------------------------
TWINS = """
name: twins
version: "1"
inputs:
  items: {type: list, required: true}
steps:
  - id: each
    skill: test.echo
    cache: CACHE
    for_each: "{{ inputs.items }}"
    with: {text: "{{ item }}", sleep: SLEEP}
"""


def test_two_identical_items_of_one_run_compute_once(studio, run_jobs):
    run = studio.start(TWINS.replace("CACHE", "run_only").replace("SLEEP", "0"), items=["same", "same"])
    run_jobs()

    steps = studio.steps(run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert (steps["each[0]"].cache_hit, steps["each[1]"].cache_hit) == (False, True)
    assert steps["each[1]"].output == steps["each[0]"].output
    assert {key: len(rows) for key, rows in studio.attempts(run.id).items()} == {"each": 0, "each[0]": 1,
                                                                                "each[1]": 0}


def test_an_identical_step_waits_for_the_one_computing_instead_of_computing_too(studio, run_jobs,
                                                                                 worker_thread):
    run = studio.start(TWINS.replace("CACHE", "global").replace("SLEEP", "0.6"), items=["same", "same"])
    first = worker_thread(max_jobs=1)
    # each[0] is at work: running an attempt (its row is written when the attempt ends).
    studio.wait_until(lambda: studio.steps(run.id)["each[0]"].status == StepStatus.RUNNING
                      and studio.steps(run.id)["each[0]"].attempt == 1)

    assert run_jobs(max_jobs=1) == 1  # each[1] finds each[0]'s claim on the cache entry
    waiting = studio.steps(run.id)["each[1]"]
    assert (waiting.status, waiting.attempt, waiting.cache_hit) == (StepStatus.QUEUED, 0, False)
    assert studio.attempts(run.id)["each[1]"] == []

    assert waiting.next_attempt_at is not None  # it looks again later, not at once

    first.join(timeout=15)
    assert run_jobs(scheduled=True) == 1  # the delayed look, run now rather than slept for: a cache hit

    steps = studio.steps(run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert steps["each[1]"].cache_hit and steps["each[1]"].output == steps["each[0]"].output
    assert studio.executions(run.id) == 1


# Cancelling a running skill ------------------------------------------------------------
SLOW = """
name: slow
version: "1"
steps:
  - id: slow
    skill: test.echo
    with: {text: slow, sleep: 20}
"""


def test_cancelling_a_run_stops_its_running_skill_at_the_next_check(studio, worker_thread):
    run = studio.start(SLOW)
    worker = worker_thread()
    studio.wait_until(lambda: studio.steps(run.id)["slow"].progress > 0)

    cancelled_at = time.monotonic()
    assert studio.call(lambda service: service.cancel(run.id)).status == RunStatus.CANCELLED
    worker.join(timeout=10)

    assert not worker.is_alive() and time.monotonic() - cancelled_at < 5
    step = studio.steps(run.id)["slow"]
    assert (step.status, step.error["code"], step.output) == (StepStatus.SKIPPED, "CANCELLED", None)
    assert [a.outcome for a in studio.attempts(run.id)["slow"]] == [AttemptOutcome.CANCELLED]
    assert studio.run(run.id).status == RunStatus.CANCELLED
