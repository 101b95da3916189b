"""What a run spends, over JSON (app/api/runs.py, app/api/models.py): budgets, resuming a run
paused on its budget, AI responses and savings in the run detail, and the model catalog."""

from __future__ import annotations

import pytest

ASK = """\
name: asking
version: "1"
inputs:
  topic: {type: string, default: owls}
defaults: {model: "offline:writer", max_tokens: 60}
steps:
  - id: ask
    skill: text.generate
    cache: global
    with: {prompt: "Write a line about {{ inputs.topic }}."}
"""


@pytest.fixture
def asking(api_client, upload_workflow):
    upload_workflow(api_client, ASK)
    return api_client


def test_the_run_detail_shows_each_ai_response_and_the_runs_totals(asking, start_run, get_run, run_jobs):
    run = start_run(asking, "asking", {"topic": "herons"})
    run_jobs()

    run = get_run(asking, run["id"])
    [step] = run["steps"]
    [response] = step["responses"]
    assert run["status"] == "completed" and run["modelCalls"] == 1 and step["modelCalls"] == 1
    assert response["model"] == "offline:writer" and response["provider"] == "offline"
    assert response["offline"] is True and step["candidates"][0]["offline"] is True
    assert "herons" in response["prompt"] and response["rawOutput"]
    assert response["tokensTotal"] == run["tokensInput"] + run["tokensOutput"] > 0
    assert run["budget"] is None and (run["saved"]["calls"], run["saved"]["tokens"]) == (0, 0)


def test_a_cached_rerun_says_what_it_saved(asking, start_run, get_run, run_jobs):
    first = start_run(asking, "asking", {"topic": "herons"})
    run_jobs()
    again = start_run(asking, "asking", {"topic": "herons"})
    run_jobs()

    first, again = get_run(asking, first["id"]), get_run(asking, again["id"])
    assert again["cacheHits"] == 1 and again["modelCalls"] == 0
    assert again["saved"]["calls"] == 1
    assert again["saved"]["tokens"] == first["tokensInput"] + first["tokensOutput"]


def test_a_run_paused_on_its_budget_resumes_with_a_higher_one(asking, start_run, get_run, run_jobs):
    run = start_run(asking, "asking", {"topic": "cranes"}, budget={"tokens": 10})
    run_jobs()
    run = get_run(asking, run["id"])
    assert run["status"] == "paused" and run["budget"] == {"tokens": 10, "costUsd": None}
    assert run["pauseReason"].startswith("BUDGET_EXCEEDED")
    assert run["steps"][0]["error"]["code"] == "BUDGET_EXCEEDED"

    resumed = asking.post(f"/api/runs/{run['id']}/resume", json={"budget": {"tokens": 5000}})
    assert resumed.status_code == 200, resumed.get_data(as_text=True)
    run_jobs()
    run = get_run(asking, run["id"])
    assert run["status"] == "completed" and run["budget"]["tokens"] == 5000


@pytest.mark.parametrize("budget, field", [
    ({"tokens": 0}, "tokens"),
    ({"tokens": "many"}, "tokens"),
    ({"costUsd": "-1"}, "costUsd"),
    ({"dollars": 5}, "dollars"),
])
def test_a_bad_budget_is_refused_beside_its_field_and_starts_nothing(asking, expect_error, budget, field,
                                                                    app_repos):
    response = asking.post("/api/runs", json={"workflow": "asking", "budget": budget})
    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert field in error["details"]["fields"]["budget"]
    assert asking.get("/api/runs").json["data"]["total"] == 0


def test_resuming_a_run_that_is_not_paused_or_not_yours_is_refused(asking, start_run, run_jobs, expect_error,
                                                                   make_user, login_api):
    run = start_run(asking, "asking")
    run_jobs()
    expect_error(asking.post(f"/api/runs/{run['id']}/resume", json={}), 409, "CONFLICT")
    stranger = login_api(make_user())
    expect_error(stranger.post(f"/api/runs/{run['id']}/resume", json={}), 404, "NOT_FOUND")


def test_the_model_catalog_lists_prices_and_labels_offline_models(api_client, expect_error, client):
    body = api_client.get("/api/models").json["data"]
    models = {model["name"]: model for model in body["models"]}
    assert body["defaultModel"] == "offline:writer"
    assert models["offline:writer"]["offline"] is True and models["offline:writer"]["requiresKey"] is False
    mini = models["openai:gpt-4o-mini"]
    assert (mini["provider"], mini["priced"], mini["inputPer1k"], mini["outputPer1k"]) == (
        "openai", True, "0.00015", "0.0006")
    assert mini["contextWindow"] == 128000 and mini["requiresKey"] is True
    expect_error(client.get("/api/models"), 401, "UNAUTHORIZED")
