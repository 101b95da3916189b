"""The scheduler (app/engine/scheduler.py) with a real database, Redis and RQ workers:
what runs when, how outputs flow, for_each fan-out and gather, failures and skips, the
step cache's scopes, and the transition table guarding every status change."""

from __future__ import annotations

import pytest

from app.errors import IllegalTransitionError
from app.models import AttemptOutcome
from app.statuses import RunStatus, StepStatus

CHAIN = """
name: chain
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: a
    skill: test.echo
    with: {text: "{{ inputs.topic }}"}
  - id: b
    skill: test.echo
    with: {text: "{{ steps.a.output.text }} again", extra: "{{ steps.a.output.digest }}"}
"""

DIAMOND = """
name: diamond
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: top
    skill: test.echo
    with: {text: "{{ inputs.topic }}"}
  - id: left
    skill: test.echo
    with: {text: "L-{{ steps.top.output.text }}"}
  - id: right
    skill: test.echo
    with: {text: "R-{{ steps.top.output.text }}"}
  - id: bottom
    skill: test.echo
    with: {text: "{{ steps.left.output.text }}+{{ steps.right.output.text }}"}
"""

FAN = """
name: fan
version: "1"
inputs:
  topics: {type: list, required: true}
steps:
  - id: each
    skill: test.echo
    for_each: "{{ inputs.topics }}"
    with: {text: "{{ index }}:{{ item }}"}
  - id: after
    skill: test.echo
    with: {text: "{{ steps.each.output | map(attribute='text') | join(',') }}"}
"""

FAN_FROM_STEP = """
name: fan-from-step
version: "1"
inputs:
  topics: {type: list}
  topic: {type: string}
steps:
  - id: plan
    skill: test.echo
    with: {text: "{{ inputs.topics if inputs.topics is not none else inputs.topic }}"}
  - id: each
    skill: test.echo
    for_each: "{{ steps.plan.output.text }}"
    with: {text: "chapter {{ item }}"}
"""

TWO_FANS = """
name: two-fans
version: "1"
inputs:
  xs: {type: list, required: true}
  ys: {type: list, required: true}
steps:
  - id: xs
    skill: test.echo
    for_each: "{{ inputs.xs }}"
    with: {text: "x{{ item }}"}
  - id: ys
    skill: test.echo
    for_each: "{{ inputs.ys }}"
    with: {text: "y{{ item }}"}
  - id: join
    skill: test.echo
    with: {text: "{{ steps.xs.output | length }}/{{ steps.ys.output | length }}"}
"""


def test_a_chain_runs_in_order_and_the_first_output_flows_into_the_second(studio, run_jobs):
    run = studio.start(CHAIN, topic="owls")
    assert (run.status, run.steps_total, run.steps_done, run.progress) == (RunStatus.RUNNING, 2, 0, 0.0)
    assert {key: step.status for key, step in studio.steps(run.id).items()} == {
        "a": StepStatus.QUEUED, "b": StepStatus.PENDING}

    assert run_jobs() == 2

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    assert (run.status, run.steps_done, run.progress, run.error) == (RunStatus.COMPLETED, 2, 1.0, None)
    assert run.duration_ms == int((run.completed_at - run.started_at).total_seconds() * 1000)
    assert steps["a"].output["text"] == "owls"
    assert steps["b"].inputs["text"] == "owls again"
    assert steps["b"].inputs["extra"] == steps["a"].output["digest"]
    assert steps["b"].output["text"] == "owls again"
    assert steps["b"].merged_content == "owls again"
    assert {key: [a.outcome for a in rows] for key, rows in studio.attempts(run.id).items()} == {
        "a": [AttemptOutcome.COMPLETED], "b": [AttemptOutcome.COMPLETED]}


def test_a_diamond_joins_both_branches_and_runs_the_join_once(studio, run_jobs):
    run = studio.start(DIAMOND, topic="owls")
    run_jobs()

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    attempts = studio.attempts(run.id)
    assert (run.status, run.steps_total, run.steps_done) == (RunStatus.COMPLETED, 4, 4)
    assert steps["bottom"].output["text"] == "L-owls+R-owls"
    assert {key: len(rows) for key, rows in attempts.items()} == {"top": 1, "left": 1, "right": 1, "bottom": 1}
    joined = attempts["bottom"][0].started_at
    assert joined >= attempts["left"][0].ended_at and joined >= attempts["right"][0].ended_at


def test_for_each_fans_out_over_a_list_input_and_gathers_the_outputs_in_order(studio, run_jobs):
    run = studio.start(FAN, topics=["owls", "bats", "moths"])
    assert studio.run(run.id).steps_total == 2 + 3

    run_jobs()

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    assert run.status == RunStatus.COMPLETED
    assert [key for key in steps if key.startswith("each[")] == ["each[0]", "each[1]", "each[2]"]
    children = [steps[f"each[{i}]"].output for i in range(3)]
    assert [child["text"] for child in children] == ["0:owls", "1:bats", "2:moths"]
    assert steps["each"].output == children
    assert steps["each"].is_fan_out and steps["each"].status == StepStatus.COMPLETED
    assert steps["after"].output["text"] == "0:owls,1:bats,2:moths"
    # The gathering row runs no skill of its own: one attempt per item, one for "after".
    assert {key: len(rows) for key, rows in studio.attempts(run.id).items()} == {
        "each": 0, "each[0]": 1, "each[1]": 1, "each[2]": 1, "after": 1}


def test_for_each_fans_out_over_an_earlier_steps_output(studio, run_jobs):
    run = studio.start(FAN_FROM_STEP, topics=["one", "two"])
    run_jobs()

    steps = studio.steps(run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert steps["plan"].output["text"] == ["one", "two"]
    assert [row["text"] for row in steps["each"].output] == ["chapter one", "chapter two"]


def test_for_each_over_an_empty_list_completes_at_once(studio, run_jobs):
    run = studio.start(FAN, topics=[])

    steps = studio.steps(run.id)
    assert (steps["each"].status, steps["each"].output) == (StepStatus.COMPLETED, [])
    assert steps["after"].status == StepStatus.QUEUED
    assert run_jobs() == 1
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert studio.steps(run.id)["after"].output["text"] == ""


def test_for_each_over_something_not_a_list_fails_the_step_and_the_run(studio, run_jobs):
    run = studio.start(FAN_FROM_STEP, topic="just one")
    run_jobs()

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    assert steps["each"].status == StepStatus.FAILED
    assert steps["each"].error["code"] == "FOR_EACH_NOT_A_LIST"
    assert "str" in steps["each"].error["message"]
    assert not [key for key in steps if key.startswith("each[")]
    assert run.status == RunStatus.FAILED
    assert (run.error["code"], run.error["failedStepId"]) == ("FOR_EACH_NOT_A_LIST", "each")


def test_a_step_after_two_fan_outs_runs_exactly_once(studio, run_jobs):
    run = studio.start(TWO_FANS, xs=[1, 2], ys=[1, 2, 3])
    run_jobs()

    steps = studio.steps(run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert steps["join"].output["text"] == "2/3"
    assert len(studio.attempts(run.id)["join"]) == 1
    assert studio.executions(run.id) == 2 + 3 + 1


SKIPPING = """
name: skipping
version: "1"
steps:
  - id: flaky
    skill: test.echo
    on_error: skip
    with: {text: flaky, fail_until_attempt: 5}
  - id: uses_flaky
    skill: test.echo
    with: {text: "{{ steps.flaky.output.text }}"}
  - id: after_that
    skill: test.echo
    needs: [uses_flaky]
  - id: alone
    skill: test.echo
    with: {text: alone}
"""


def test_a_skipped_step_skips_its_dependents_and_the_rest_of_the_run_completes(studio, run_jobs):
    run = studio.start(SKIPPING)
    run_jobs()

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    assert (steps["flaky"].status, steps["flaky"].error["code"]) == (StepStatus.SKIPPED, "TRANSIENT_FAILURE")
    for key in ("uses_flaky", "after_that"):
        assert (steps[key].status, steps[key].error["code"]) == (StepStatus.SKIPPED, "DEPENDENCY_SKIPPED")
    assert (steps["alone"].status, steps["alone"].output["text"]) == (StepStatus.COMPLETED, "alone")
    assert (run.status, run.steps_done, run.error) == (RunStatus.COMPLETED, 4, None)
    assert {key: len(rows) for key, rows in studio.attempts(run.id).items()} == {
        "flaky": 1, "uses_flaky": 0, "after_that": 0, "alone": 1}


BAD_TEMPLATE = """
name: bad-template
version: "1"
steps:
  - id: a
    skill: test.echo
    with: {text: hello}
  - id: b
    skill: test.echo
    retry: {max_attempts: 3, backoff: 0}
    with: {text: "{{ steps.a.output.no_such_field }}"}
"""


def test_a_template_failing_at_runtime_fails_the_step_without_retrying_it(studio, run_jobs):
    run = studio.start(BAD_TEMPLATE)
    run_jobs()

    run = studio.run(run.id)
    step = studio.steps(run.id)["b"]
    assert (step.status, step.error["code"], step.attempt) == (StepStatus.FAILED, "TEMPLATE_ERROR", 0)
    assert "no_such_field" in step.error["message"]
    assert studio.attempts(run.id)["b"] == []
    assert (run.status, run.error["failedStepId"]) == (RunStatus.FAILED, "b")


@pytest.mark.parametrize("template", [
    # The sandbox refuses: an OverflowError (a constant range(10**9) is refused at upload).
    "{{ steps.a.output.text ~ range((steps.a.output.text|length) * 10**8)|length }}",
    "{{ steps.a.output.text / 0 }}",
])
def test_a_template_raising_while_its_step_is_planned_fails_that_step_at_once(studio, run_jobs, template):
    run = studio.start(BAD_TEMPLATE.replace("{{ steps.a.output.no_such_field }}", template))
    assert run_jobs() == 1  # a's job alone: b fails while a's completion plans it, in a's transaction

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    # The healthy parent completed; the failure is b's, named as b's, with no class name in it.
    assert steps["a"].status == StepStatus.COMPLETED
    assert (steps["b"].status, steps["b"].error["code"]) == (StepStatus.FAILED, "TEMPLATE_ERROR")
    assert steps["b"].error["message"].startswith("A template of step b failed: ")
    assert "Error:" not in steps["b"].error["message"]
    assert (run.status, run.error["failedStepId"]) == (RunStatus.FAILED, "b")


# The step cache ------------------------------------------------------------------------
def cached(scope: str, name: str = "cached") -> str:
    return CHAIN.replace("name: chain", f"name: {name}").replace("skill: test.echo",
                                                                  f"skill: test.echo\n    cache: {scope}")


def test_a_globally_cached_rerun_completes_at_start_without_running_a_skill(studio, run_jobs):
    first = studio.start(cached("global"), topic="owls")
    run_jobs()
    first_steps = studio.steps(first.id)

    again = studio.start(cached("global"), topic="owls")  # no worker runs after this

    assert (again.status, again.steps_done, again.cache_hits) == (RunStatus.COMPLETED, 2, 2)
    steps = studio.steps(again.id)
    assert all(step.cache_hit and step.status == StepStatus.COMPLETED for step in steps.values())
    assert {key: step.output for key, step in steps.items()} == {key: s.output for key, s in first_steps.items()}
    assert studio.executions(again.id) == 0
    assert studio.queued_jobs() == 0


def test_a_different_input_misses_the_cache(studio, run_jobs):
    studio.start(cached("global"), topic="owls")
    run_jobs()

    other = studio.start(cached("global"), topic="bats")
    assert other.status == RunStatus.RUNNING
    run_jobs()

    steps = studio.steps(other.id)
    assert studio.run(other.id).cache_hits == 0
    assert not any(step.cache_hit for step in steps.values())
    assert steps["b"].output["text"] == "bats again"
    assert studio.executions(other.id) == 2


def test_cache_off_always_executes(studio, run_jobs):
    runs = [studio.start(cached("off"), topic="owls") for _ in range(2)]
    run_jobs()

    for run in runs:
        assert studio.run(run.id).status == RunStatus.COMPLETED
        assert not any(step.cache_hit for step in studio.steps(run.id).values())
        assert studio.executions(run.id) == 2


def test_run_only_cache_is_shared_within_a_run_family_but_not_with_an_unrelated_run(studio, run_jobs):
    source = cached("run_only")
    first = studio.start(source, topic="owls")
    run_jobs()
    unrelated = studio.start(source, topic="owls")
    assert unrelated.status == RunStatus.RUNNING  # a new family: nothing cached for it
    run_jobs()
    assert studio.executions(unrelated.id) == 2

    # Within first's family: an update computes "bats"; updating that back to "owls"
    # cannot reuse its base's steps (other inputs) but finds first's cache entries.
    bats = studio.call(lambda service: service.update(first.id, {"topic": "bats"}))
    run_jobs()
    assert studio.executions(bats.id) == 2
    owls = studio.call(lambda service: service.update(bats.id, {"topic": "owls"}))
    assert (owls.status, owls.cache_hits, owls.steps_reused) == (RunStatus.COMPLETED, 2, 0)
    assert studio.executions(owls.id) == 0

    # A branch of the first run with topic "bats" finds the update's entries.
    branch = studio.call(lambda service: service.branch(first.id, "a", {"topic": "bats"}))
    assert (branch.status, branch.cache_hits) == (RunStatus.COMPLETED, 2)
    assert studio.steps(branch.id)["b"].output == studio.steps(bats.id)["b"].output


# Status moves ---------------------------------------------------------------------------
def test_moving_a_step_to_a_status_its_table_forbids_raises_and_changes_nothing(studio, run_jobs):
    run = studio.start(CHAIN, topic="owls")
    run_jobs()

    def move_back(service):
        step = service.repos.run_steps.by_key(run.id, "a")
        with service.repos.transaction():
            service.repos.run_steps.move(step, StepStatus.COMPLETED, status=StepStatus.RUNNING)

    with pytest.raises(IllegalTransitionError) as raised:
        studio.call(move_back)
    assert raised.value.code == "ILLEGAL_TRANSITION"
    assert raised.value.details == {"entity": "RunStep", "from": "completed", "to": "running"}
    assert studio.steps(run.id)["a"].status == StepStatus.COMPLETED
