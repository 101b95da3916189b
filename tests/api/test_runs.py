"""Starting, reading and listing runs over JSON (app/api/runs.py): 202 with the run, input
checks, Idempotency-Key, details after the worker ran, and the filtered, sorted list."""

from __future__ import annotations

import pytest

from app.models import IdempotencyKey, Run, RunStep

PITCH = """\
name: pitch
version: "1"
inputs:
  topic: {type: string, required: true, max_length: 40}
  words: {type: integer, default: 3, min: 1, max: 10}
steps:
  - id: outline
    skill: test.echo
    with: {text: "Outline of {{ inputs.topic }}"}
  - id: draft
    skill: test.echo
    needs: [outline]
    with: {text: "{{ steps.outline.output.text }} in {{ inputs.words }} words"}
"""
SHARED = """\
name: shared
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: research
    skill: test.echo
    cache: global
    with: {text: "Facts about {{ inputs.topic }}"}
"""


@pytest.fixture
def pitch(api_client, upload_workflow) -> dict:
    upload_workflow(api_client, PITCH)
    upload_workflow(api_client, PITCH.replace('version: "1"', 'version: "2"'))
    return {"workflow": "pitch", "inputs": {"topic": "otters"}}


def test_starting_a_run_answers_202_with_the_run_and_its_steps(api_client, pitch, user):
    response = api_client.post("/api/runs", json=pitch)

    assert response.status_code == 202, response.json
    run = response.json["data"]
    assert (run["workflow"], run["version"], run["triggerType"]) == ("pitch", "2", "initial")
    assert run["status"] in ("queued", "running")
    assert run["inputs"] == {"topic": "otters", "words": 3}
    assert run["rootRunId"] == run["id"] and run["parentRunId"] is None
    assert run["createdByUserId"] == str(user.user.id)
    assert [(s["key"], s["skill"]) for s in run["steps"]] == [("outline", "test.echo"), ("draft", "test.echo")]
    assert {s["key"]: s["status"] for s in run["steps"]} == {"outline": "queued", "draft": "pending"}
    assert (run["stepsTotal"], run["stepsDone"]) == (2, 0)
    assert "Idempotent-Replayed" not in response.headers


def test_a_version_can_be_asked_for(api_client, pitch, start_run):
    run = start_run(api_client, "pitch", {"topic": "otters"}, version="1")

    assert run["version"] == "1"


@pytest.mark.parametrize(("inputs", "field"), [
    ({"topic": 42}, "inputs.topic"),
    ({"topic": "otters", "words": "three"}, "inputs.words"),
    ({"topic": "otters", "words": True}, "inputs.words"),
    ({"topic": "otters", "words": 11}, "inputs.words"),
    ({"topic": "otters", "words": 0}, "inputs.words"),
    ({"topic": "o" * 41}, "inputs.topic"),
    ({"topic": "two\nlines"}, "inputs.topic"),
    ({"topic": "otters", "colour": "red"}, "inputs.colour"),
    ({}, "inputs.topic"),
], ids=["wrong-type", "text-for-integer", "boolean-for-integer", "above-max", "below-min", "too-long",
        "newline-in-string", "unknown", "missing-required"])
def test_inputs_the_workflow_refuses_are_400_per_field_and_start_nothing(api_client, pitch, expect_error,
                                                                        row_count, run_jobs, inputs, field):
    response = api_client.post("/api/runs", json={"workflow": "pitch", "inputs": inputs})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert list(error["details"]["fields"]) == [field]
    assert (row_count(Run), row_count(RunStep)) == (0, 0)
    assert run_jobs() == 0


def test_every_bad_input_is_reported_at_once(api_client, pitch, expect_error):
    response = api_client.post("/api/runs", json={"workflow": "pitch", "inputs": {"words": 99, "mood": "grim"}})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert set(error["details"]["fields"]) == {"inputs.topic", "inputs.words", "inputs.mood"}


@pytest.mark.parametrize("body", [{"workflow": "sonnet"}, {"workflow": "pitch", "version": "7"}],
                         ids=["unknown-workflow", "unknown-version"])
def test_an_unknown_workflow_or_version_is_404(api_client, pitch, expect_error, row_count, body):
    expect_error(api_client.post("/api/runs", json={**body, "inputs": {"topic": "otters"}}), 404, "NOT_FOUND")

    assert row_count(Run) == 0


def test_a_body_without_a_workflow_is_400(api_client, pitch, expect_error, row_count):
    error = expect_error(api_client.post("/api/runs", json={"inputs": {"topic": "otters"}}), 400,
                         "VALIDATION_ERROR")

    assert "workflow" in error["details"]["fields"]
    assert row_count(Run) == 0


def test_the_same_idempotency_key_and_body_answer_with_the_same_run(api_client, pitch, row_count):
    headers = {"Idempotency-Key": "order-7f3a"}

    first = api_client.post("/api/runs", json=pitch, headers=headers)
    again = api_client.post("/api/runs", json=pitch, headers=headers)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json["data"]["id"] == first.json["data"]["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (row_count(Run), row_count(IdempotencyKey)) == (1, 1)


def test_the_same_idempotency_key_with_another_body_is_409(api_client, pitch, expect_error, row_count):
    headers = {"Idempotency-Key": "order-7f3a"}
    api_client.post("/api/runs", json=pitch, headers=headers)

    changed = api_client.post("/api/runs", json={"workflow": "pitch", "inputs": {"topic": "badgers"}},
                              headers=headers)

    expect_error(changed, 409, "CONFLICT")
    assert row_count(Run) == 1


def test_different_idempotency_keys_start_different_runs(api_client, pitch, row_count):
    for key in ("one", "two"):
        assert api_client.post("/api/runs", json=pitch, headers={"Idempotency-Key": key}).status_code == 202

    assert row_count(Run) == 2


@pytest.mark.parametrize("key", ["has space", "x" * 201, "naïve"], ids=["space", "too-long", "non-ascii"])
def test_a_malformed_idempotency_key_is_400(api_client, pitch, expect_error, row_count, key):
    response = api_client.post("/api/runs", json=pitch, headers={"Idempotency-Key": key.encode().decode("latin-1")})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert "headers.Idempotency-Key" in error["details"]["fields"]
    assert (row_count(Run), row_count(IdempotencyKey)) == (0, 0)


def test_a_finished_run_shows_steps_attempts_timings_and_totals(api_client, pitch, start_run, get_run, run_jobs):
    started = start_run(api_client, "pitch", {"topic": "otters", "words": 5})

    assert run_jobs() == 2
    run = get_run(api_client, started["id"])

    assert run["status"] == "completed"
    assert (run["stepsTotal"], run["stepsDone"]) == (2, 2)
    assert (run["progress"]["completed"], run["progress"]["fraction"], run["progress"]["label"]) == (
        2, 1.0, "completed: 2 of 2 steps completed")
    assert run["startedAt"] and run["completedAt"] and run["durationMs"] >= 0
    assert (run["cacheHits"], run["tokensInput"], run["tokensOutput"]) == (0, 0, 0)
    outline, draft = run["steps"]
    assert draft["output"]["text"] == "Outline of otters in 5 words"
    for step in (outline, draft):
        assert step["status"] == "completed" and step["cacheHit"] is False
        assert step["startedAt"] and step["endedAt"] and step["durationMs"] >= 0
        assert step["inputHash"] and step["attempt"] == 1
        [attempt] = step["attempts"]
        assert (attempt["number"], attempt["outcome"]) == (1, "completed")
        assert attempt["startedAt"] and attempt["endedAt"]


def test_a_global_cache_hit_is_shown_on_the_step_and_in_the_totals(api_client, upload_workflow, start_run,
                                                                   get_run, run_jobs):
    upload_workflow(api_client, SHARED)
    first = start_run(api_client, "shared", {"topic": "otters"})
    run_jobs()

    second = start_run(api_client, "shared", {"topic": "otters"})
    run_jobs()
    run = get_run(api_client, second["id"])

    assert run["status"] == "completed"
    assert run["cacheHits"] == 1
    [step] = run["steps"]
    assert step["cacheHit"] is True and step["attempts"] == []
    assert step["output"] == get_run(api_client, first["id"])["steps"][0]["output"]


def test_another_tenants_run_is_404(api_client, pitch, start_run, make_user, login_api, expect_error):
    run = start_run(api_client, "pitch", {"topic": "otters"})
    stranger = login_api(make_user())

    expect_error(stranger.get(f"/api/runs/{run['id']}"), 404, "NOT_FOUND")
    assert stranger.get("/api/runs").json["data"]["total"] == 0


def test_a_run_id_that_is_not_a_uuid_is_404(api_client, expect_error):
    expect_error(api_client.get("/api/runs/not-a-run"), 404, "NOT_FOUND")


# The list ----------------------------------------------------------------------------------

@pytest.fixture
def three_runs(api_client, pitch, upload_workflow, start_run, run_jobs) -> list[dict]:
    """Two finished pitch runs (one of version 1) and a queued ``shared`` run, oldest first."""
    upload_workflow(api_client, SHARED)
    first = start_run(api_client, "pitch", {"topic": "otters"}, version="1")
    second = start_run(api_client, "pitch", {"topic": "badgers"})
    run_jobs()
    third = start_run(api_client, "shared", {"topic": "stoats"})
    return [first, second, third]


def listed(client, **query) -> dict:
    response = client.get("/api/runs", query_string=query)
    assert response.status_code == 200, response.json
    return response.json["data"]


def test_the_list_is_newest_first_by_default(api_client, three_runs):
    page = listed(api_client)

    assert [r["id"] for r in page["items"]] == [r["id"] for r in reversed(three_runs)]
    assert (page["total"], page["limit"], page["offset"]) == (3, 20, 0)
    assert "steps" not in page["items"][0]


FILTERS = [
    ({"status": "completed"}, [1, 0]),
    ({"status": "running"}, [2]),
    ({"status": "failed"}, []),
    ({"workflow": "pitch"}, [1, 0]),
    ({"workflow": "shared"}, [2]),
    ({"workflow": "pitch", "status": "running"}, []),
    ({"triggerType": "initial"}, [2, 1, 0]),
    ({"triggerType": "branch"}, []),
]


def test_the_list_filters_by_status_workflow_and_trigger(api_client, three_runs):
    for query, expected in FILTERS:
        page = listed(api_client, **query)

        assert [r["id"] for r in page["items"]] == [three_runs[i]["id"] for i in expected], query
        assert page["total"] == len(expected), query


def test_the_list_filters_by_root_run(api_client, three_runs):
    root = three_runs[1]["id"]
    branch = api_client.post(f"/api/runs/{root}/branch", json={"step": "draft"}).json["data"]

    page = listed(api_client, rootRunId=root)

    assert sorted(r["id"] for r in page["items"]) == sorted([root, branch["id"]])
    assert listed(api_client, triggerType="branch")["items"][0]["id"] == branch["id"]


def test_the_list_sorts_by_creation_and_status_both_ways(api_client, three_runs):
    for key in ("createdAt", "status"):
        ascending = [r[key] for r in listed(api_client, sort=key)["items"]]
        descending = [r[key] for r in listed(api_client, sort=f"-{key}")["items"]]

        assert ascending == sorted(ascending) and len(set(ascending)) > 1, key
        assert descending == sorted(descending, reverse=True), key


def test_the_list_sorts_by_last_change(api_client, three_runs):
    oldest = three_runs[0]["id"]
    api_client.post(f"/api/runs/{three_runs[2]['id']}/cancel")  # the newest run changes last

    ascending = [r["id"] for r in listed(api_client, sort="updatedAt")["items"]]
    descending = [r["id"] for r in listed(api_client, sort="-updatedAt")["items"]]

    assert ascending == list(reversed(descending))
    assert (ascending[0], ascending[-1]) == (oldest, three_runs[2]["id"])


def test_the_list_pages(api_client, three_runs):
    first = listed(api_client, sort="createdAt", limit=2)
    second = listed(api_client, sort="createdAt", limit=2, offset=2)

    assert [r["id"] for r in first["items"] + second["items"]] == [r["id"] for r in three_runs]
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert (second["total"], second["offset"], len(second["items"])) == (3, 2, 1)
    assert listed(api_client, offset=10)["items"] == []


BAD_QUERIES = [{"sort": "cost"}, {"sort": "-workflow"}, {"status": "lost"}, {"triggerType": "retry"},
               {"limit": 0}, {"limit": 101}, {"offset": -1}, {"rootRunId": "nope"}]


def test_a_bad_list_query_is_400_naming_the_parameter(api_client, three_runs, expect_error):
    for query in BAD_QUERIES:
        error = expect_error(api_client.get("/api/runs", query_string=query), 400, "VALIDATION_ERROR")

        assert set(error["details"]["fields"]) == {f"query.{name}" for name in query}, query


# Models resolved at submit (issue 9) -------------------------------------------------------------

CHOOSY = """\
name: choosy
version: "1"
inputs:
  topic: {type: string, default: owls}
  model: {type: string, default: "offline:writer"}
steps:
  - id: ask
    skill: text.generate
    with: {prompt: "One line about {{ inputs.topic }}", model: "{{ inputs.model }}"}
"""


@pytest.mark.parametrize(("model", "code"), [("foo:bar", "UNKNOWN_MODEL"), ("writer", "UNKNOWN_MODEL"),
                                             ("offline:no-such-model", "MODEL_NOT_PRICED")],
                         ids=["unknown-provider", "not-provider-colon-model", "unpriced"])
def test_a_model_that_cannot_be_used_is_refused_at_submit_with_its_input_field(
        api_client, upload_workflow, expect_error, row_count, run_jobs, model, code):
    upload_workflow(api_client, CHOOSY)

    response = api_client.post("/api/runs", json={"workflow": "choosy", "inputs": {"model": model}})

    error = expect_error(response, 422, code)
    assert list(error["details"]["fields"]) == ["inputs.model"]
    assert model in error["details"]["fields"]["inputs.model"][0]
    assert "Error:" not in error["message"]
    assert (row_count(Run), row_count(RunStep), row_count(IdempotencyKey)) == (0, 0, 0)
    assert run_jobs() == 0


def test_the_offline_providers_free_models_are_accepted(api_client, upload_workflow, start_run, get_run, run_jobs):
    upload_workflow(api_client, CHOOSY)

    run = start_run(api_client, "choosy", {"model": "offline:fast"})
    run_jobs()

    assert get_run(api_client, run["id"])["status"] == "completed"


def test_branching_or_updating_to_an_unknown_model_is_refused_and_starts_nothing(
        api_client, upload_workflow, start_run, run_jobs, expect_error, row_count):
    upload_workflow(api_client, CHOOSY)
    run = start_run(api_client, "choosy", {})
    run_jobs()

    for path, body in ((f"/api/runs/{run['id']}/branch", {"step": "ask", "inputs": {"model": "foo:bar"}}),
                       (f"/api/runs/{run['id']}/update", {"inputs": {"model": "foo:bar"}})):
        error = expect_error(api_client.post(path, json=body), 422, "UNKNOWN_MODEL")
        assert list(error["details"]["fields"]) == ["inputs.model"]
    assert row_count(Run) == 1


# Progress told honestly (issue 9) ------------------------------------------------------------------

def test_the_list_reports_each_runs_progress_by_kind_of_step(api_client, pitch, start_run, run_jobs):
    start_run(api_client, "pitch", {"topic": "otters"})
    run_jobs()
    start_run(api_client, "pitch", {"topic": "moles"})

    items = api_client.get("/api/runs").json["data"]["items"]

    newest, oldest = items
    assert (newest["progress"]["completed"], newest["progress"]["queued"], newest["progress"]["remaining"]) == (
        0, 1, 1)
    assert newest["progress"]["label"] == "running: 1 queued, 1 remaining"
    assert (oldest["progress"]["fraction"], oldest["progress"]["succeeded"]) == (1.0, True)
