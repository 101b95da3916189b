"""What people do with runs (app/engine/service.py): choose among candidates, regenerate,
update a run, branch from a step, cancel — and the progress stream a finished run leaves."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from app.engine.progress import RunEvents
from app.errors import ConflictError, IllegalTransitionError, NotFoundError, ValidationError
from app.models import TriggerType
from app.runtime import current_state
from app.statuses import RunStatus, StepStatus


def snapshot(row) -> dict:
    """Every column of a row, to show it did not change."""
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


def run_snapshot(studio, run_id) -> dict:
    """Every column of a run (read in a session: some are loaded only when asked for)."""
    return studio.call(lambda service: snapshot(service.repos.runs.require(run_id)))


PICKING = """
name: picking
version: "1"
inputs:
  topic: {type: string, default: owls}
steps:
  - id: draft
    skill: test.echo
    candidates: 3
    select: user
    with: {text: "{{ inputs.topic }}"}
  - id: side
    skill: test.echo
    with: {text: side}
  - id: final
    skill: test.echo
    with: {text: "{{ steps.draft.output.text }}|{{ steps.draft.selection }}|{{ steps.draft.feedback }}"}
"""


def test_a_step_awaiting_selection_pauses_the_run_while_independent_steps_go_on(studio, run_jobs):
    run = studio.start(PICKING)
    run_jobs()

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    assert (steps["draft"].status, len(steps["draft"].candidates)) == (StepStatus.AWAITING_SELECTION, 3)
    assert steps["draft"].output is None
    assert run.status == RunStatus.PAUSED and "draft" in run.pause_reason
    assert steps["side"].status == StepStatus.COMPLETED
    attempts = studio.attempts(run.id)
    assert attempts["side"][0].started_at >= attempts["draft"][0].ended_at  # ran while the run was paused
    assert steps["final"].status == StepStatus.PENDING


def test_selecting_a_candidate_completes_the_step_and_later_steps_read_the_choice(studio, run_jobs):
    run = studio.start(PICKING)
    run_jobs()

    selected = studio.call(lambda service: service.select(run.id, "draft", 1, "more owls"))

    assert (selected.status, selected.pause_reason) == (RunStatus.RUNNING, None)
    draft = studio.steps(run.id)["draft"]
    assert draft.status == StepStatus.COMPLETED
    assert (draft.user_selection, draft.user_feedback) == (1, "more owls")
    assert draft.output == draft.candidates[1]["output"]
    assert draft.merged_content == "owls (candidate 2)"
    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert studio.steps(run.id)["final"].output["text"] == "owls (candidate 2)|1|more owls"


def test_selecting_a_candidate_that_does_not_exist_is_refused_and_changes_nothing(studio, run_jobs):
    run = studio.start(PICKING)
    run_jobs()
    before = snapshot(studio.steps(run.id)["draft"])

    with pytest.raises(ValidationError) as raised:
        studio.call(lambda service: service.select(run.id, "draft", 3, "the fourth"))

    assert raised.value.code == "VALIDATION_ERROR"
    assert "index" in raised.value.details["fields"]
    assert snapshot(studio.steps(run.id)["draft"]) == before
    assert studio.run(run.id).status == RunStatus.PAUSED
    assert studio.queued_jobs() == 0


def test_selecting_a_step_that_is_not_awaiting_a_selection_is_a_conflict(studio, run_jobs):
    run = studio.start(PICKING)
    run_jobs()
    before = snapshot(studio.steps(run.id)["side"])

    with pytest.raises(ConflictError) as raised:
        studio.call(lambda service: service.select(run.id, "side", 0, None))
    assert (raised.value.code, raised.value.details) == ("CONFLICT", {"step": "side", "status": "completed"})
    with pytest.raises(NotFoundError):
        studio.call(lambda service: service.select(run.id, "nowhere", 0, None))
    assert snapshot(studio.steps(run.id)["side"]) == before


def test_regenerating_adds_candidates_and_awaits_a_selection_again(studio, run_jobs):
    run = studio.start(PICKING)
    run_jobs()

    resumed = studio.call(lambda service: service.regenerate(run.id, "draft"))
    assert resumed.status == RunStatus.RUNNING
    assert studio.steps(run.id)["draft"].status == StepStatus.QUEUED
    run_jobs()

    draft = studio.steps(run.id)["draft"]
    assert draft.status == StepStatus.AWAITING_SELECTION
    assert [c["index"] for c in draft.candidates] == [0, 1, 2, 3, 4, 5]
    assert draft.candidates[5]["output"]["text"] == "owls (candidate 6)"
    assert len(studio.attempts(run.id)["draft"]) == 2
    assert studio.run(run.id).status == RunStatus.PAUSED
    studio.call(lambda service: service.select(run.id, "draft", 4, None))
    run_jobs()
    assert studio.steps(run.id)["final"].output["text"] == "owls (candidate 5)|4|None"


# Update runs ------------------------------------------------------------------------------
UPDATING = """
name: updating
version: "1"
inputs:
  title: {type: string, required: true}
  tone: {type: string, required: true}
steps:
  - id: heading
    skill: test.echo
    with: {text: "{{ inputs.title }}"}
  - id: voice
    skill: test.echo
    with: {text: "{{ inputs.tone }}"}
  - id: body
    skill: test.echo
    with: {text: "{{ steps.heading.output.text }} in a {{ steps.voice.output.text }} voice"}
  - id: footer
    skill: test.echo
    with: {text: "{{ steps.heading.output.text }} ends"}
"""


def test_an_update_with_unchanged_inputs_reuses_every_step(studio, run_jobs):
    base = studio.start(UPDATING, title="Owls", tone="calm")
    run_jobs()
    base_steps = studio.steps(base.id)

    update = studio.call(lambda service: service.update(base.id, {}))

    assert (update.status, update.steps_reused, update.trigger_type) == (RunStatus.COMPLETED, 4, TriggerType.UPDATE)
    assert (update.base_run_id, update.root_run_id, update.parent_run_id) == (base.id, base.id, None)
    for key, step in studio.steps(update.id).items():
        assert step.reused_from_step_id == base_steps[key].id
        assert step.output == base_steps[key].output
    assert studio.executions(update.id) == 0
    assert [run.id for run in studio.call(lambda service: service.lineage(update.id))] == [base.id, update.id]


def test_an_update_executes_only_the_steps_whose_inputs_changed(studio, run_jobs):
    base = studio.start(UPDATING, title="Owls", tone="calm")
    run_jobs()

    update = studio.call(lambda service: service.update(base.id, {"tone": "stormy"}))
    run_jobs()

    steps = studio.steps(update.id)
    assert studio.run(update.id).status == RunStatus.COMPLETED
    assert {key: len(rows) for key, rows in studio.attempts(update.id).items()} == {
        "heading": 0, "voice": 1, "body": 1, "footer": 0}
    assert {key for key, step in steps.items() if step.reused_from_step_id} == {"heading", "footer"}
    assert steps["body"].output["text"] == "Owls in a stormy voice"
    assert studio.run(update.id).inputs == {"title": "Owls", "tone": "stormy"}


# Branches ---------------------------------------------------------------------------------
BRANCHING = """
name: branching
version: "1"
inputs:
  topic: {type: string, required: true}
  style: {type: string, default: essay}
steps:
  - id: research
    skill: test.echo
    with: {text: "{{ inputs.topic }}"}
  - id: draft
    skill: test.echo
    with: {text: "{{ steps.research.output.text }} as {{ inputs.style }}"}
  - id: polish
    skill: test.echo
    with: {text: "{{ steps.draft.output.text }}!"}
"""


def test_a_branch_carries_earlier_steps_over_and_reruns_from_the_branch_point(studio, run_jobs):
    parent = studio.start(BRANCHING, topic="owls")
    run_jobs()
    parent_before = (run_snapshot(studio, parent.id), {k: snapshot(s) for k, s in studio.steps(parent.id).items()})

    branch = studio.call(lambda service: service.branch(parent.id, "draft", {"style": "poem"}))
    run_jobs()

    branch = studio.run(branch.id)
    steps = studio.steps(branch.id)
    assert (branch.status, branch.trigger_type, branch.branch_point) == (RunStatus.COMPLETED, TriggerType.BRANCH,
                                                                          "draft")
    assert (branch.parent_run_id, branch.root_run_id) == (parent.id, parent.id)
    assert steps["research"].reused_from_step_id == parent_before[1]["research"]["id"]
    assert steps["research"].output == parent_before[1]["research"]["output"]
    assert {key: len(rows) for key, rows in studio.attempts(branch.id).items()} == {
        "research": 0, "draft": 1, "polish": 1}
    assert steps["polish"].output["text"] == "owls as poem!"
    assert (run_snapshot(studio, parent.id), {k: snapshot(s) for k, s in studio.steps(parent.id).items()}) \
        == parent_before


def test_branching_from_a_step_that_does_not_exist_is_refused_and_writes_nothing(studio, run_jobs, row_counts):
    parent = studio.start(BRANCHING, topic="owls")
    run_jobs()
    before = row_counts()

    with pytest.raises(ValidationError) as raised:
        studio.call(lambda service: service.branch(parent.id, "nowhere", {"style": "poem"}))

    assert raised.value.details["fields"]["step"] == ["One of research, draft, polish."]
    assert row_counts() == before
    assert studio.queued_jobs() == 0


# Cancelling --------------------------------------------------------------------------------
CANCELLING = """
name: cancelling
version: "1"
steps:
  - id: first
    skill: test.echo
  - id: second
    skill: test.echo
    with: {text: two}
  - id: later
    skill: test.echo
    needs: [first]
"""


def test_cancelling_skips_queued_steps_at_once_and_their_jobs_do_nothing(studio, run_jobs, app):
    run = studio.start(CANCELLING)
    assert {key: step.status for key, step in studio.steps(run.id).items()} == {
        "first": StepStatus.QUEUED, "second": StepStatus.QUEUED, "later": StepStatus.PENDING}

    cancelled = studio.call(lambda service: service.cancel(run.id))

    assert (cancelled.status, cancelled.steps_done) == (RunStatus.CANCELLED, 3)
    assert cancelled.cancel_requested_at is not None
    steps = studio.steps(run.id)
    assert {(step.status, step.error["code"]) for step in steps.values()} == {(StepStatus.SKIPPED, "CANCELLED")}
    assert run_jobs() == 0  # taken off the queue
    with app.app_context():  # a job that slipped through anyway finds the run ended
        current_state().enqueue("app.jobs.run_step", str(steps["first"].id))
    assert run_jobs() == 1
    assert studio.executions(run.id) == 0
    assert {key: snapshot(step) for key, step in studio.steps(run.id).items()} == \
        {key: snapshot(step) for key, step in steps.items()}


def test_cancelling_a_finished_run_is_an_illegal_transition_and_changes_nothing(studio, run_jobs):
    run = studio.start(CANCELLING)
    run_jobs()
    before = run_snapshot(studio, run.id)
    assert before["status"] == RunStatus.COMPLETED

    with pytest.raises(IllegalTransitionError) as raised:
        studio.call(lambda service: service.cancel(run.id))

    assert (raised.value.code, raised.value.status_code) == ("ILLEGAL_TRANSITION", 409)
    assert raised.value.details == {"entity": "Run", "from": "completed", "to": "cancelled"}
    assert run_snapshot(studio, run.id) == before


def test_a_finished_runs_event_stream_tells_its_story_in_order(studio, run_jobs, app):
    run = studio.start(BRANCHING, topic="owls")
    run_jobs()

    with app.app_context():
        events = RunEvents(current_state().redis.client()).read(run.id)
    kinds = [kind for _id, kind, _data in events]
    story = [kind for kind in kinds if kind in ("run.running", "step.completed", "run.completed")]
    assert story == ["run.running", "step.completed", "step.completed", "step.completed", "run.completed"]
    assert kinds[-1] == "run.completed"
    completed = [data["step"] for _id, kind, data in events if kind == "step.completed"]
    assert completed == ["research", "draft", "polish"]


# Regenerating and retrying -------------------------------------------------------------------
def test_regenerating_three_times_spends_no_attempt_and_books_the_wait_apart(studio, run_jobs, clock):
    run = studio.start(PICKING)
    run_jobs()
    for _ in range(3):
        clock.advance(60)  # a person reads the candidates for a minute
        studio.call(lambda service: service.regenerate(run.id, "draft"))
        run_jobs()
    clock.advance(30)
    studio.call(lambda service: service.select(run.id, "draft", 7, None))
    run_jobs()

    draft = studio.steps(run.id)["draft"]
    assert draft.status == StepStatus.COMPLETED and len(draft.candidates) == 12
    # Four executions, one attempt: asking for more candidates is not a retry.
    assert (draft.attempt, draft.executions, draft.regenerations) == (1, 4, 3)
    assert draft.waiting_ms == 210_000
    # The step's duration is the machine's time, not the person's three and a half minutes.
    assert draft.duration_ms < 60_000
    attempts = studio.attempts(run.id)["draft"]
    assert [(a.number, a.regeneration) for a in attempts] == [(1, False), (2, True), (3, True), (4, True)]
    assert studio.run(run.id).status == RunStatus.COMPLETED


FAILING_ONCE = """
name: failing-once
version: "1"
steps:
  - id: outline
    skill: test.echo
    with: {text: outline, fail_until_execution: 2}
  - id: draft
    skill: test.echo
    with: {text: "{{ steps.outline.output.text }} drafted"}
  - id: title
    skill: test.echo
    with: {text: "{{ steps.outline.output.text }} titled"}
  - id: polish
    skill: test.echo
    with: {text: "{{ steps.draft.output.text }} polished"}
"""


def test_retrying_a_failed_run_completes_it_in_place(studio, run_jobs):
    run = studio.start(FAILING_ONCE)
    run_jobs()
    failed = studio.run(run.id)
    assert failed.status == RunStatus.FAILED
    assert {key: step.status for key, step in studio.steps(run.id).items()} == {
        "outline": StepStatus.FAILED, "draft": StepStatus.SKIPPED, "title": StepStatus.SKIPPED,
        "polish": StepStatus.SKIPPED}

    retried = studio.call(lambda service: service.retry(run.id))
    assert retried.status == RunStatus.RUNNING and retried.error is None
    run_jobs()

    done = studio.run(run.id)
    assert done.id == run.id and done.status == RunStatus.COMPLETED
    assert done.steps_done == done.steps_total == 4
    steps = studio.steps(run.id)
    assert steps["polish"].output["text"] == "outline drafted polished"
    # A fresh attempt budget; the failed execution stays on record.
    assert (steps["outline"].attempt, steps["outline"].executions) == (1, 2)
    assert [a.outcome.value for a in studio.attempts(run.id)["outline"]] == ["failed", "completed"]
    events = [record.type for record in studio.call(lambda service: service.repos.events.list())]
    assert "run.retried" in events


def test_retrying_keeps_completed_steps_and_redoes_only_what_failed(studio, run_jobs):
    run = studio.start(FAILING_ONCE.replace("with: {text: outline, fail_until_execution: 2}",
                                            "with: {text: outline}").replace(
        '"{{ steps.draft.output.text }} polished"}', '"{{ steps.draft.output.text }} polished", '
                                                     'fail_until_execution: 2}'))
    run_jobs()
    assert studio.run(run.id).status == RunStatus.FAILED
    before = {key: (step.status, step.executions) for key, step in studio.steps(run.id).items()}
    assert before["polish"] == (StepStatus.FAILED, 1)

    studio.call(lambda service: service.retry(run.id))
    run_jobs()

    after = studio.steps(run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    for key in ("outline", "draft", "title"):  # not run again
        assert (after[key].status, after[key].executions) == (StepStatus.COMPLETED, 1)
    assert (after["polish"].status, after["polish"].executions) == (StepStatus.COMPLETED, 2)


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
def test_only_a_failed_or_crashed_run_can_be_retried(studio, run_jobs, ending):
    run = studio.start(PICKING)
    if ending == "completed":
        run_jobs()
        studio.call(lambda service: service.select(run.id, "draft", 0, None))
        run_jobs()
    else:
        studio.call(lambda service: service.cancel(run.id))
    before = run_snapshot(studio, run.id)
    assert before["status"] == RunStatus(ending)

    with pytest.raises(IllegalTransitionError):
        studio.call(lambda service: service.retry(run.id))
    assert run_snapshot(studio, run.id) == before


def test_a_running_run_cannot_be_retried(studio):
    run = studio.start(PICKING)
    with pytest.raises(IllegalTransitionError):
        studio.call(lambda service: service.retry(run.id))
