"""The article pipeline end to end on a real worker: candidates from different models, choices
and feedback carried forward, preferences, branches and the tree."""

from __future__ import annotations

from inkwright_writeit.models import Article

from app.toolkit import Run

TOPIC = "Why small teams ship faster"


def step_of(run: dict, key: str) -> dict:
    return next(s for s in run["steps"] if s["key"] == key)


def start(api_client, **body) -> dict:
    response = api_client.post("/api/writeit/articles", json={"topic": TOPIC, **body})
    assert response.status_code == 201, response.json
    return response.json["data"]


def chosen_text(run: dict, step: str) -> str:
    state = step_of(run, step)
    return state["candidates"][state["userSelection"]]["output"]["text"]


def test_each_step_offers_candidates_from_different_models_and_carries_the_choice_on(api_client, pick, run_jobs):
    article = start(api_client, audience="engineering managers")
    run_id = article["currentRunId"]
    assert article["status"] == "running"

    run = pick(run_id, "angles", 1, "Lead with the on-call story")
    angles = step_of(run, "angles")
    assert len(angles["candidates"]) == 2
    assert {c["output"]["model"] for c in angles["candidates"]} == {"offline:writer", "offline:fast"}
    assert {r["model"] for r in angles["responses"]} == {"offline:writer", "offline:fast"}
    assert all(c["offline"] for c in angles["candidates"])
    # Each candidate is labelled with the model that wrote it (its model call's), not the
    # workflow's line-up: once "offline:writer" named a candidate another model wrote.
    written_by = {r["candidateIndex"]: r["model"] for r in angles["responses"]}
    assert [c["model"] for c in angles["candidates"]] == [written_by[c["index"]] for c in angles["candidates"]]

    # The outline's prompts carry the chosen angle, the feedback and the primer's guide.
    outline = step_of(run, "outline")
    assert outline["status"] == "awaiting_selection"
    for response in outline["responses"]:
        assert chosen_text(run, "angles") in response["prompt"]
        assert "Lead with the on-call story" in response["prompt"]
        assert "WRITING STYLE GUIDE: Technical Journalist" in response["prompt"]
        assert "engineering managers" in response["prompt"]

    run = pick(run_id, "outline", 0, "Five sections is right; cut the jargon")
    draft = step_of(run, "draft")
    assert {c["output"]["model"] for c in draft["candidates"]} == {"offline:writer", "offline:fast"}
    assert all(chosen_text(run, "outline") in r["prompt"] and "cut the jargon" in r["prompt"]
               for r in draft["responses"])
    assert all(c["output"]["text"].startswith("## ") for c in draft["candidates"])

    run = pick(run_id, "draft", 1, "Tighter, please")
    polish = step_of(run, "polish")
    first_section_body = chosen_text(run, "draft").split("\n\n")[1]
    assert any(first_section_body in r["prompt"] for r in polish["responses"] if r["candidateIndex"] == 0)
    assert all("Tighter, please" in r["prompt"] for r in polish["responses"])

    run = pick(run_id, "polish", 0, None)
    assert run["status"] == "completed"
    run_jobs()  # the run.completed handler writes the article's final text

    detail = api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]
    assert detail["status"] == "completed"
    assert detail["offline"] is True
    title = step_of(run, "outline")["candidates"][0]["output"]["title"]
    assert detail["title"] == title
    assert detail["finalMarkdown"].startswith(f"# {title}\n\n## ")
    assert chosen_text(run, "polish") in detail["finalMarkdown"]
    assert [s["userFeedback"] for s in detail["run"]["steps"]] == [
        "Lead with the on-call story", "Five sections is right; cut the jargon", "Tighter, please", None]


def test_the_preferences_choose_each_steps_first_model(api_client, pick):
    response = api_client.patch("/api/account/preferences",
                                json={"defaultModels": {"angles": "offline:fast", "draft": "offline:fast"}})
    assert response.status_code == 200, response.json

    article = start(api_client)
    run = api_client.get(f"/api/runs/{article['currentRunId']}").json["data"]
    assert run["inputs"]["angles_model"] == "offline:fast"
    assert run["inputs"]["outline_model"] == "offline:writer"   # the workflow's default
    assert run["inputs"]["draft_model"] == "offline:fast"

    run = pick(article["currentRunId"], "angles", 0, None)
    angles = step_of(run, "angles")
    first = [r for r in angles["responses"] if r["candidateIndex"] == 0]
    assert first and all(r["model"] == "offline:fast" for r in first)
    assert angles["candidates"][1]["output"]["model"] == "offline:writer"  # still a different second model

    # A model named in the request wins over the preference.
    named = start(api_client, models={"angles": "offline:writer"})
    assert api_client.get(f"/api/runs/{named['currentRunId']}").json["data"]["inputs"]["angles_model"] == "offline:writer"


def test_a_candidate_names_the_model_that_wrote_it_not_the_workflows_line_up(api_client, run_jobs):
    """The request's model for a step is what the skill calls; the candidate is labelled with
    that model, in the API as in its output (issue 12: "offline:writer" once named a candidate
    another model wrote)."""
    article = start(api_client, models={"angles": "offline:fast"})
    run_jobs()
    angles = step_of(api_client.get(f"/api/runs/{article['currentRunId']}").json["data"], "angles")
    written_by = {r["candidateIndex"]: r["model"] for r in angles["responses"]}
    assert written_by[0] == "offline:fast"
    assert [c["model"] for c in angles["candidates"]] == [written_by[c["index"]] for c in angles["candidates"]]


def test_branch_from_the_outline_reuses_the_angles_and_reruns_what_follows(api_client, pick, run_jobs):
    article = start(api_client)
    first_run = article["currentRunId"]
    pick(first_run, "angles", 0, "Keep it concrete")
    pick(first_run, "outline", 1, None)
    before = api_client.get(f"/api/runs/{first_run}").json["data"]

    response = api_client.post(f"/api/writeit/articles/{article['id']}/branch",
                               json={"step": "outline", "inputs": {"audience": "CTOs"}})
    assert response.status_code == 201, response.json
    detail = response.json["data"]
    branch_id = detail["currentRunId"]
    assert branch_id != first_run

    run_jobs()
    branch = api_client.get(f"/api/runs/{branch_id}").json["data"]
    assert branch["parentRunId"] == first_run and branch["branchPoint"] == "outline"
    angles = step_of(branch, "angles")
    assert angles["reusedFromStepId"] == step_of(before, "angles")["id"]
    assert angles["userFeedback"] == "Keep it concrete"
    outline = step_of(branch, "outline")
    assert outline["status"] == "awaiting_selection" and outline["reusedFromStepId"] is None
    assert all("CTOs" in r["prompt"] and "Keep it concrete" in r["prompt"] for r in outline["responses"])
    assert [step_of(branch, key)["status"] for key in ("draft", "polish")] == ["pending", "pending"]

    # The parent is untouched: its outline keeps the choice made there.
    assert step_of(api_client.get(f"/api/runs/{first_run}").json["data"], "outline")["userSelection"] == 1

    # Rewind (no inputs) from the angles of the branch: a third run, under the branch in the tree.
    rewind = api_client.post(f"/api/writeit/articles/{article['id']}/branch", json={"step": "angles"})
    assert rewind.status_code == 201, rewind.json
    third = rewind.json["data"]["currentRunId"]
    run_jobs()
    tree = api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]["tree"]
    assert len(tree) == 1 and tree[0]["runId"] == first_run and tree[0]["current"] is False
    [child] = tree[0]["children"]
    assert child["runId"] == branch_id and child["branchPoint"] == "outline"
    [grandchild] = child["children"]
    assert grandchild["runId"] == third and grandchild["current"] is True and grandchild["branchPoint"] == "angles"


def test_a_branch_made_on_the_core_run_page_is_followed_by_the_article(api_client, pick, run_jobs):
    article = start(api_client)
    pick(article["currentRunId"], "angles", 0, None)
    response = api_client.post(f"/api/runs/{article['currentRunId']}/branch", json={"step": "angles", "inputs": {}})
    assert response.status_code in (200, 201, 202), response.json
    run_jobs()  # the run.created handler
    detail = api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]
    assert detail["currentRunId"] == response.json["data"]["id"]


def test_articles_list_newest_first_and_stay_in_their_tenant(api_client, make_user, login_api, run_jobs):
    first = start(api_client)
    second = start(api_client, topic="Notes on writing migrations")
    listed = api_client.get("/api/writeit/articles").json["data"]
    assert [a["id"] for a in listed["items"]] == [second["id"], first["id"]] and listed["total"] == 2
    run_jobs()  # the angles are written: each article waits for a choice
    assert [a["status"] for a in api_client.get("/api/writeit/articles").json["data"]["items"]] == ["paused", "paused"]
    bad_page = api_client.get("/api/writeit/articles?limit=0")
    assert bad_page.status_code == 400 and "query.limit" in bad_page.json["error"]["details"]["fields"]

    other = login_api(make_user())
    assert other.get("/api/writeit/articles").json["data"]["total"] == 0
    for path in (f"/api/writeit/articles/{first['id']}", f"/api/writeit/articles/{first['id']}/export?format=yaml"):
        refused = other.get(path)
        assert refused.status_code == 404 and refused.json["error"]["code"] == "NOT_FOUND"
    assert other.post(f"/api/writeit/articles/{first['id']}/branch", json={"step": "outline"}).status_code == 404


def test_bad_articles_are_refused_and_nothing_is_written(api_client, row_count):
    cases = [
        ({"topic": ""}, "topic"),
        ({"topic": "   "}, "topic"),
        ({"audience": "x"}, "topic"),
        ({"topic": TOPIC, "primerId": "no-such-primer"}, "primerId"),
        ({"topic": TOPIC, "models": {"angles": "gpt4"}}, "models.angles"),
        ({"topic": TOPIC, "models": {"summary": "offline:writer"}}, "models"),
        ({"topic": TOPIC, "colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        response = api_client.post("/api/writeit/articles", json=body)
        assert response.status_code == 400, (body, response.json)
        assert response.json["error"]["code"] == "VALIDATION_ERROR"
        fields = response.json["error"]["details"]["fields"]
        assert any(key == field or key.startswith(field) for key in fields), (field, fields)
        assert "No style primer" in str(fields) if field == "primerId" else True
    assert row_count(Article) == 0
    assert row_count(Run) == 0


def test_bad_branches_are_refused(api_client, make_user, login_api, row_count):
    article = start(api_client)
    other_article = start(api_client, topic="Another topic entirely")
    bad_step = api_client.post(f"/api/writeit/articles/{article['id']}/branch", json={"step": "summary"})
    assert bad_step.status_code == 400 and "step" in bad_step.json["error"]["details"]["fields"]
    foreign_run = api_client.post(f"/api/writeit/articles/{article['id']}/branch",
                                  json={"step": "outline", "runId": other_article["currentRunId"]})
    assert foreign_run.status_code == 404
    bad_primer = api_client.post(f"/api/writeit/articles/{article['id']}/branch",
                                 json={"step": "outline", "inputs": {"stylePrimer": "nope"}})
    assert bad_primer.status_code == 400
    assert api_client.get("/api/writeit/articles/not-a-uuid").status_code == 404
    assert row_count(Run) == 2


def test_cancelling_the_run_cancels_the_article(api_client, run_jobs):
    article = start(api_client)
    assert api_client.post(f"/api/runs/{article['currentRunId']}/cancel").status_code == 200
    run_jobs()  # the run.cancelled handler
    detail = api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]
    assert detail["status"] == "cancelled"
    listed = api_client.get("/api/writeit/articles").json["data"]["items"]
    assert listed[0]["status"] == "cancelled"


def test_an_article_naming_a_model_nobody_serves_is_refused_at_submit_beside_its_step(api_client, row_count):
    # issue 9: "foo:bar" used to start a run that failed at its first step
    for models, code in (({"draft": "foo:bar"}, "UNKNOWN_MODEL"), ({"polish": "offline:nope"}, "MODEL_NOT_PRICED")):
        response = api_client.post("/api/writeit/articles", json={"topic": TOPIC, "models": models})
        assert response.status_code == 422, response.json
        assert response.json["error"]["code"] == code
        [step] = models
        assert list(response.json["error"]["details"]["fields"]) == [f"models.{step}"]
    assert row_count(Article) == 0 and row_count(Run) == 0


def test_a_stored_preference_naming_a_removed_model_is_refused_too(api_client, row_count):
    api_client.patch("/api/account/preferences", json={"defaultModels": {"outline": "gone:model"}})

    response = api_client.post("/api/writeit/articles", json={"topic": TOPIC})

    assert response.status_code == 422 and response.json["error"]["code"] == "UNKNOWN_MODEL"
    assert list(response.json["error"]["details"]["fields"]) == ["models.outline"]
    assert row_count(Run) == 0


def test_a_failed_article_says_why_with_the_errors_code_and_links_its_run(api_client, browser, run_jobs, uninstalled_provider):
    article = start(api_client)
    with uninstalled_provider("offline"):
        run_jobs()

    detail = api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]
    assert detail["status"] == "error"
    assert detail["error"]["code"] == "UNKNOWN_MODEL" and "UnknownModelError" not in detail["error"]["message"]
    assert detail["progress"]["label"] == "failed: 1 failed, 3 skipped"
    page = browser.get(f"/articles/{article['id']}").get_data(as_text=True)
    assert "failed: 1 failed, 3 skipped" in page
    assert "<code>UNKNOWN_MODEL</code> No model provider named" in page
    assert f'href="/runs/{article["currentRunId"]}">See the run and retry it' in page
    listing = browser.get("/articles").get_data(as_text=True)
    assert "<code>UNKNOWN_MODEL</code>" in listing and f'href="/runs/{article["currentRunId"]}"' in listing


def test_an_offset_past_any_list_is_a_400_not_a_500(api_client):
    response = api_client.get(f"/api/writeit/articles?offset={2 ** 63}")
    assert response.status_code == 400 and response.json["error"]["code"] == "VALIDATION_ERROR"
    assert "offset" in str(response.json["error"]["details"])
