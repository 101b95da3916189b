"""The agent-run API (app/api/agent_runs.py): an agent over a subject, queued, run by a worker,
and reported in seed 003's results shape."""

from __future__ import annotations

import uuid

from app.models import UsageLogEntry
from tests.agent_runs import reviewed

# The subject these tests review: a finished run (tests/agent_runs/reviewed.py).
reviewed_run = reviewed.reviewed_run
start_review = reviewed.start_review


def test_the_installed_agents_and_subject_kinds_are_listed(api_client):
    listed = api_client.get("/api/agents")
    assert listed.status_code == 200
    assert "test.proofread" in [agent["name"] for agent in listed.json["data"]["items"]]
    assert "inkwright.run" in listed.json["data"]["subjectKinds"]


def test_a_run_is_queued_then_reviews_its_subject_with_file_and_line(api_client, start_review, run_jobs, app,
                                                                      reviewed_run):
    started = start_review()
    assert started.status_code == 202, started.json
    run = started.json["data"]
    assert (run["status"], run["trigger"], run["priority"], run["retryCount"], run["maxRetries"]) == (
        "queued", "manual", 5, 0, 3)

    assert run_jobs() == 1
    done = api_client.get(f"/api/agent-runs/{run['id']}").json["data"]
    assert done["status"] == "completed", done
    results = done["results"]
    assert set(results) == {"issues", "stats", "model_info"}
    offline = [(i["category"], i["file"], i["line"]) for i in results["issues"] if i["category"] != "model_note"]
    assert offline == [("doubled_word", "steps/draft.md", 1), ("todo", "steps/draft.md", 3)]
    assert [i["id"] for i in results["issues"]] == [f"proof-{n:03d}" for n in range(1, len(results["issues"]) + 1)]
    assert set(results["issues"][0]) == {"id", "severity", "category", "file", "line", "message", "suggestion",
                                         "confidence"}
    assert results["stats"]["files_analyzed"] == 1 and results["stats"]["total_words"] == 13
    assert results["stats"]["issues_by_severity"] == done["severityBreakdown"]
    assert done["issuesFound"] == len(results["issues"])
    assert results["model_info"]["model"] == app.config["DEFAULT_MODEL"]
    assert results["model_info"]["tokens_used"] > 0
    # The model's findings on lines the text has are kept; those on lines it lacks are counted.
    assert all(1 <= i["line"] <= 3 for i in results["issues"] if i["category"] == "model_note")
    assert isinstance(done["context"]["discarded_findings"], int)
    assert done["startedAt"] and done["completedAt"] and done["durationSeconds"] is not None

    [told] = [n for n in api_client.get("/api/notifications").json["data"]["items"] if n["type"] == "agent_complete"]
    assert (told["relatedEntityId"], told["actionUrl"]) == (run["id"], f"/runs/{reviewed_run}")

    with app.app_context():
        from app.extensions import db
        rows = db.session.query(UsageLogEntry).filter(UsageLogEntry.agent_run_id == uuid.UUID(run["id"])).all()
        assert [(r.agent_type, str(r.project_id), r.files_analyzed, r.context_type) for r in rows] == [
            ("test.proofread", reviewed_run, 1, "manual")]


def test_a_finished_run_cannot_be_canceled_and_a_queued_one_can(api_client, start_review, run_jobs, expect_error):
    first = start_review().json["data"]
    run_jobs()
    expect_error(api_client.post(f"/api/agent-runs/{first['id']}/cancel"), 409, "ILLEGAL_TRANSITION")

    second = start_review().json["data"]
    canceled = api_client.post(f"/api/agent-runs/{second['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json["data"]["status"] == "canceled"
    assert run_jobs() == 0  # its job was taken off the queue
    assert api_client.get(f"/api/agent-runs/{second['id']}").json["data"]["status"] == "canceled"


def test_runs_are_listed_and_filtered(api_client, start_review, run_jobs):
    start_review()
    run_jobs()
    start_review(priority=9.0)  # an integer, as JSON schema counts them
    everything = api_client.get("/api/agent-runs").json["data"]
    assert everything["total"] == 2
    queued = api_client.get("/api/agent-runs?status=queued").json["data"]
    assert [r["priority"] for r in queued["items"]] == [9]
    assert api_client.get("/api/agent-runs?agentType=test.proofread&trigger=manual").json["data"]["total"] == 2
    assert api_client.get("/api/agent-runs?trigger=commit").json["data"]["total"] == 0


def test_bad_requests_are_field_errors_and_start_nothing(api_client, start_review, expect_error):
    expect_error(start_review(agentType="no.such"), 400, "VALIDATION_ERROR")
    expect_error(start_review(priority=11), 400, "VALIDATION_ERROR")
    expect_error(start_review(priority=0), 400, "VALIDATION_ERROR")
    expect_error(start_review(priority=4.5), 400, "VALIDATION_ERROR")
    expect_error(start_review(model="no colon"), 400, "VALIDATION_ERROR")
    expect_error(start_review(trigger="sometimes"), 400, "VALIDATION_ERROR")
    expect_error(start_review(subjectKind="nobody.knows"), 400, "VALIDATION_ERROR")
    expect_error(start_review(subjectId="00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND")
    expect_error(start_review(subjectId="not-a-uuid"), 404, "NOT_FOUND")
    assert api_client.get("/api/agent-runs").json["data"]["total"] == 0


def test_another_tenants_run_is_not_found(api_client, start_review, login_api, make_user, expect_error):
    run = start_review().json["data"]
    stranger = login_api(make_user(name="Stranger"))
    expect_error(stranger.get(f"/api/agent-runs/{run['id']}"), 404, "NOT_FOUND")
    expect_error(stranger.post(f"/api/agent-runs/{run['id']}/cancel"), 404, "NOT_FOUND")
    expect_error(stranger.post("/api/agent-runs", json={"subjectKind": "inkwright.run", "subjectId": run["projectId"],
                                                        "agentType": "test.proofread"}), 404, "NOT_FOUND")
