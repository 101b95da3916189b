"""Steering runs over JSON (app/api/runs.py): select a candidate, regenerate, cancel,
branch, update, and the lineage of a run's family."""

from __future__ import annotations

import pytest

from app.models import Role, Run, RunStep

STORY = """\
name: story
version: "1"
inputs:
  premise: {type: string, required: true}
  tone: {type: string, default: warm}
steps:
  - id: idea
    skill: test.echo
    with: {text: "Idea: {{ inputs.premise }}"}
  - id: pick
    skill: test.echo
    needs: [idea]
    candidates: 3
    select: user
    with: {text: "{{ steps.idea.output.text }}"}
  - id: write
    skill: test.echo
    needs: [pick]
    with: {text: "{{ steps.pick.output.text }} | {{ steps.pick.feedback }} | {{ inputs.tone }}"}
"""


@pytest.fixture
def paused(api_client, upload_workflow, start_run, get_run, run_jobs) -> dict:
    """A story run paused with its ``pick`` step awaiting a selection among three candidates."""
    upload_workflow(api_client, STORY)
    run = start_run(api_client, "story", {"premise": "a lighthouse"})
    run_jobs()
    run = get_run(api_client, run["id"])
    assert run["status"] == "paused", run
    assert steps_of(run)["pick"]["status"] == "awaiting_selection"
    return run


@pytest.fixture
def finished(api_client, paused, get_run, run_jobs) -> dict:
    """The paused story run, its second candidate selected, run to completion."""
    api_client.post(f"/api/runs/{paused['id']}/steps/pick/select", json={"index": 1, "feedback": "darker"})
    run_jobs()
    run = get_run(api_client, paused["id"])
    assert run["status"] == "completed", run
    return run


def steps_of(run: dict) -> dict[str, dict]:
    return {step["key"]: step for step in run["steps"]}


# Select --------------------------------------------------------------------------------------

def test_selecting_a_candidate_resumes_the_run_to_completion(api_client, paused, get_run, run_jobs):
    response = api_client.post(f"/api/runs/{paused['id']}/steps/pick/select", json={"index": 2, "feedback": "bolder"})

    assert response.status_code == 200, response.json
    pick = steps_of(response.json["data"])["pick"]
    assert (pick["status"], pick["userSelection"], pick["userFeedback"]) == ("completed", 2, "bolder")
    assert pick["output"]["text"] == "Idea: a lighthouse (candidate 3)"
    assert response.json["data"]["status"] == "running"
    run_jobs()
    run = get_run(api_client, paused["id"])
    assert run["status"] == "completed"
    assert steps_of(run)["write"]["output"]["text"] == "Idea: a lighthouse (candidate 3) | bolder | warm"


def test_candidates_are_listed_on_the_step_awaiting_selection(paused):
    candidates = steps_of(paused)["pick"]["candidates"]

    assert [c["index"] for c in candidates] == [0, 1, 2]
    assert [c["output"]["text"] for c in candidates] == [
        "Idea: a lighthouse", "Idea: a lighthouse (candidate 2)", "Idea: a lighthouse (candidate 3)"]
    assert paused["pauseReason"]


@pytest.mark.parametrize("index", [3, 99, -1])
def test_an_index_without_a_candidate_is_400_and_changes_nothing(api_client, paused, get_run, expect_error,
                                                                 index):
    response = api_client.post(f"/api/runs/{paused['id']}/steps/pick/select", json={"index": index})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert "index" in error["details"]["fields"]
    assert get_run(api_client, paused["id"]) == paused


def test_selecting_a_step_that_is_not_awaiting_a_selection_is_409(api_client, paused, get_run, expect_error):
    error = expect_error(api_client.post(f"/api/runs/{paused['id']}/steps/idea/select", json={"index": 0}),
                         409, "CONFLICT")

    assert error["details"]["status"] == "completed"
    assert get_run(api_client, paused["id"])["status"] == "paused"


def test_selecting_twice_is_409_and_keeps_the_first_choice(api_client, paused, get_run, expect_error):
    api_client.post(f"/api/runs/{paused['id']}/steps/pick/select", json={"index": 1})

    expect_error(api_client.post(f"/api/runs/{paused['id']}/steps/pick/select", json={"index": 0}), 409, "CONFLICT")

    assert steps_of(get_run(api_client, paused["id"]))["pick"]["userSelection"] == 1


def test_selecting_an_unknown_step_is_404(api_client, paused, expect_error):
    expect_error(api_client.post(f"/api/runs/{paused['id']}/steps/polish/select", json={"index": 0}),
                 404, "NOT_FOUND")


def test_a_viewer_cannot_select(api_client, paused, make_user, add_member, login_as, get_run, expect_error, user):
    reader = make_user()
    add_member(api_client, user.tenant_id, reader, Role.VIEWER.value)
    viewer = login_as(reader, user.tenant_id)

    assert viewer.get(f"/api/runs/{paused['id']}").status_code == 200
    expect_error(viewer.post(f"/api/runs/{paused['id']}/steps/pick/select", json={"index": 0}), 403, "FORBIDDEN")
    assert steps_of(get_run(api_client, paused["id"]))["pick"]["status"] == "awaiting_selection"


# Regenerate ----------------------------------------------------------------------------------

def test_regenerating_adds_candidates_after_the_worker_runs(api_client, paused, get_run, run_jobs):
    response = api_client.post(f"/api/runs/{paused['id']}/steps/pick/regenerate")

    assert response.status_code == 202, response.json
    assert steps_of(response.json["data"])["pick"]["status"] == "queued"
    assert run_jobs() == 1
    pick = steps_of(get_run(api_client, paused["id"]))["pick"]
    assert pick["status"] == "awaiting_selection"
    assert [c["index"] for c in pick["candidates"]] == [0, 1, 2, 3, 4, 5]
    assert len({c["output"]["digest"] for c in pick["candidates"]}) == 6


def test_regenerating_a_finished_step_is_409(api_client, finished, get_run, expect_error, run_jobs):
    expect_error(api_client.post(f"/api/runs/{finished['id']}/steps/pick/regenerate"), 409, "CONFLICT")

    assert run_jobs() == 0
    assert len(steps_of(get_run(api_client, finished["id"]))["pick"]["candidates"]) == 3


# Cancel ---------------------------------------------------------------------------------------

def test_cancelling_stops_the_run_and_its_unstarted_steps(api_client, paused, run_jobs, get_run):
    response = api_client.post(f"/api/runs/{paused['id']}/cancel")

    assert response.status_code == 200, response.json
    assert response.json["data"]["status"] == "cancelled"
    assert run_jobs() == 0
    steps = steps_of(get_run(api_client, paused["id"]))
    assert steps["idea"]["status"] == "completed"
    assert steps["write"]["status"] in ("skipped", "cancelled")


def test_cancelling_a_queued_run_takes_its_work_off_the_queue(api_client, upload_workflow, start_run, get_run,
                                                              run_jobs):
    upload_workflow(api_client, STORY)
    run = start_run(api_client, "story", {"premise": "a lighthouse"})

    assert api_client.post(f"/api/runs/{run['id']}/cancel").status_code == 200

    assert run_jobs() == 0

    steps = steps_of(get_run(api_client, run["id"]))
    assert steps["idea"]["attempts"] == [] and steps["idea"]["output"] is None


def test_cancelling_twice_is_409_illegal_transition(api_client, paused, expect_error):
    api_client.post(f"/api/runs/{paused['id']}/cancel")

    error = expect_error(api_client.post(f"/api/runs/{paused['id']}/cancel"), 409, "ILLEGAL_TRANSITION")

    assert "cancelled" in error["message"]


def test_cancelling_a_completed_run_is_409_and_leaves_it_completed(api_client, finished, get_run, expect_error):
    expect_error(api_client.post(f"/api/runs/{finished['id']}/cancel"), 409, "ILLEGAL_TRANSITION")

    assert get_run(api_client, finished["id"])["status"] == "completed"


# Branch ---------------------------------------------------------------------------------------

def test_branching_starts_a_new_run_that_reuses_the_steps_before_the_branch_point(api_client, finished,
                                                                                  get_run, run_jobs):
    response = api_client.post(f"/api/runs/{finished['id']}/branch", json={"step": "write",
                                                                          "inputs": {"tone": "cold"}})

    assert response.status_code == 202, response.json
    branch = response.json["data"]
    assert branch["id"] != finished["id"]
    assert (branch["triggerType"], branch["parentRunId"], branch["branchPoint"], branch["rootRunId"]) == (
        "branch", finished["id"], "write", finished["id"])
    assert branch["inputs"] == {"premise": "a lighthouse", "tone": "cold"}
    assert branch["stepsReused"] == 2
    parent_steps, steps = steps_of(finished), steps_of(branch)
    for key in ("idea", "pick"):
        assert steps[key]["reusedFromStepId"] == parent_steps[key]["id"]
        assert steps[key]["output"] == parent_steps[key]["output"]
    run_jobs()
    done = get_run(api_client, branch["id"])
    assert done["status"] == "completed"
    assert steps_of(done)["write"]["output"]["text"] == "Idea: a lighthouse (candidate 2) | darker | cold"
    assert [s["attempts"] for s in done["steps"][:2]] == [[], []]
    assert get_run(api_client, finished["id"]) == finished


def test_branching_from_a_selection_step_asks_for_a_selection_again(api_client, finished, get_run, run_jobs):
    branch = api_client.post(f"/api/runs/{finished['id']}/branch", json={"step": "pick"}).json["data"]

    run_jobs()

    run = get_run(api_client, branch["id"])
    assert run["status"] == "paused"
    assert steps_of(run)["idea"]["reusedFromStepId"] == steps_of(finished)["idea"]["id"]
    assert steps_of(run)["pick"]["status"] == "awaiting_selection"


def test_branching_from_a_step_that_does_not_exist_is_400_and_starts_nothing(api_client, finished, expect_error,
                                                                             row_count):
    runs, steps = row_count(Run), row_count(RunStep)

    error = expect_error(api_client.post(f"/api/runs/{finished['id']}/branch", json={"step": "epilogue"}),
                         400, "VALIDATION_ERROR")

    assert "step" in error["details"]["fields"]
    assert (row_count(Run), row_count(RunStep)) == (runs, steps)


def test_branching_with_bad_inputs_is_400_and_starts_nothing(api_client, finished, expect_error, row_count):
    response = api_client.post(f"/api/runs/{finished['id']}/branch", json={"step": "write", "inputs": {"tone": 7}})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert list(error["details"]["fields"]) == ["inputs.tone"]
    assert row_count(Run) == 1


# Update and lineage ---------------------------------------------------------------------------

def test_an_update_run_reruns_only_what_the_changed_inputs_reach(api_client, finished, get_run, run_jobs):
    response = api_client.post(f"/api/runs/{finished['id']}/update", json={"inputs": {"premise": "a ship"}})

    assert response.status_code == 202, response.json
    update = response.json["data"]
    assert (update["triggerType"], update["baseRunId"], update["rootRunId"]) == ("update", finished["id"],
                                                                                 finished["id"])
    assert update["inputs"] == {"premise": "a ship", "tone": "warm"}
    run_jobs()
    run = get_run(api_client, update["id"])
    assert steps_of(run)["idea"]["output"]["text"] == "Idea: a ship"
    assert steps_of(run)["pick"]["status"] == "awaiting_selection"


def test_an_update_with_the_same_inputs_executes_nothing_again(api_client, finished, get_run, run_jobs):
    update = api_client.post(f"/api/runs/{finished['id']}/update", json={"inputs": {}}).json["data"]

    run_jobs()

    run = get_run(api_client, update["id"])
    assert run["status"] == "completed"
    assert all(step["attempts"] == [] for step in run["steps"]), run["steps"]
    assert steps_of(run)["write"]["output"] == steps_of(finished)["write"]["output"]


def test_lineage_lists_the_whole_family_oldest_first(api_client, finished):
    branch = api_client.post(f"/api/runs/{finished['id']}/branch", json={"step": "write"}).json["data"]
    update = api_client.post(f"/api/runs/{branch['id']}/update", json={"inputs": {"tone": "dry"}}).json["data"]

    for member in (finished, branch, update):
        response = api_client.get(f"/api/runs/{member['id']}/lineage")

        assert response.status_code == 200, response.json
        assert response.json["data"]["rootRunId"] == finished["id"]
        assert [r["id"] for r in response.json["data"]["runs"]] == [finished["id"], branch["id"], update["id"]]


# A failed run, read honestly and retried in place (issue 9) ------------------------------------

ASKING = """\
name: asking
version: "1"
steps:
  - id: ask
    skill: text.generate
    with: {prompt: "One line about owls", model: "offline:writer"}
  - id: polish
    skill: test.echo
    with: {text: "{{ steps.ask.output.text }}"}
  - id: title
    skill: test.echo
    with: {text: "Title of {{ steps.polish.output.text }}"}
"""


@pytest.fixture
def failed(api_client, upload_workflow, start_run, get_run, run_jobs, uninstalled_provider):
    """A run whose first step failed because its provider went away after the run started
    (so the other two were skipped); the provider is back when the fixture returns."""
    upload_workflow(api_client, ASKING)
    run = start_run(api_client, "asking", {})
    with uninstalled_provider("offline"):
        run_jobs()
    run = get_run(api_client, run["id"])
    assert run["status"] == "failed", run
    return run


def test_a_failed_run_reads_failed_with_its_counts_never_done(failed):
    progress = failed["progress"]

    assert progress["label"] == "failed: 1 failed, 2 skipped"
    assert (progress["fraction"], progress["finished"], progress["succeeded"]) == (0.0, True, False)


def test_a_steps_error_is_its_code_and_message_never_a_class_name(failed):
    error = steps_of(failed)["ask"]["error"]

    assert error["code"] == "UNKNOWN_MODEL"
    assert error["message"].startswith("No model provider named 'offline'")
    assert "UnknownModelError" not in str(failed) and "Traceback" not in str(failed)


def test_a_step_shows_executions_regenerations_and_its_wait_apart_from_attempts(paused, api_client, get_run,
                                                                                 run_jobs):
    api_client.post(f"/api/runs/{paused['id']}/steps/pick/regenerate")
    run_jobs()
    pick = steps_of(get_run(api_client, paused["id"]))["pick"]

    assert {"executions", "regenerations", "waitingMs", "attempt", "maxAttempts", "durationMs"} <= set(pick)
    assert all("regeneration" in attempt for attempt in pick["attempts"])


def test_retrying_a_failed_run_runs_it_again_in_place_to_completion(failed, api_client, get_run, run_jobs,
                                                                    row_count):
    response = api_client.post(f"/api/runs/{failed['id']}/retry")

    assert response.status_code == 200, response.json
    assert response.json["data"]["id"] == failed["id"]
    assert response.json["data"]["status"] == "running"
    run_jobs()
    run = get_run(api_client, failed["id"])
    assert run["status"] == "completed"
    assert run["progress"]["label"] == "completed: 3 of 3 steps completed"
    assert row_count(Run) == 1  # in place: no branch, no update run


def test_retrying_a_completed_run_is_409_illegal_transition_and_changes_nothing(api_client, finished, get_run,
                                                                                 expect_error):
    expect_error(api_client.post(f"/api/runs/{finished['id']}/retry"), 409, "ILLEGAL_TRANSITION")

    assert get_run(api_client, finished["id"])["status"] == "completed"


def test_retrying_a_run_still_going_or_cancelled_is_409(api_client, paused, expect_error):
    expect_error(api_client.post(f"/api/runs/{paused['id']}/retry"), 409, "ILLEGAL_TRANSITION")
    api_client.post(f"/api/runs/{paused['id']}/cancel")
    expect_error(api_client.post(f"/api/runs/{paused['id']}/retry"), 409, "ILLEGAL_TRANSITION")


def test_retrying_another_tenants_run_is_404(api_client, failed, make_user, login_api, expect_error):
    stranger = login_api(make_user())
    expect_error(stranger.post(f"/api/runs/{failed['id']}/retry"), 404, "NOT_FOUND")
