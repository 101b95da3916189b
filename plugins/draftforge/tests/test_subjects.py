"""Projects as agent subjects (inkwright_draftforge/subjects.py): an agent run over a project
reads its manuscript at the head, through the platform's agent-run API."""

from __future__ import annotations


def test_an_agent_reviews_a_projects_chapters_at_its_head(api_client, user, make_project, run_jobs):
    project_id = make_project(user, {"chapters/01-arrival.md": "# Arrival\n\nShe came came home.\n"})

    started = api_client.post("/api/agent-runs", json={"subjectKind": "draftforge.project", "subjectId": project_id,
                                                        "agentType": "test.proofread"})
    assert started.status_code == 202, started.json
    run_jobs()
    done = api_client.get(f"/api/agent-runs/{started.json['data']['id']}").json["data"]

    assert done["status"] == "completed", done
    assert [(i["category"], i["file"], i["line"]) for i in done["results"]["issues"]
            if i["category"] == "doubled_word"] == [("doubled_word", "chapters/01-arrival.md", 3)]
    assert done["results"]["stats"]["files_analyzed"] == 1
    assert len(done["context"]["ref"]) == 40
    [told] = [n for n in api_client.get("/api/notifications").json["data"]["items"] if n["type"] == "agent_complete"]
    assert told["actionUrl"] == f"/draftforge/{project_id}/runs/{done['id']}"
    assert api_client.client.get(told["actionUrl"]).status_code in (200, 302)  # the report page (302: sign in)


def test_another_tenants_project_cannot_be_reviewed(login_api, make_user, user, make_project):
    project_id = make_project(user, {"chapters/01-arrival.md": "# Arrival\n\nText.\n"})
    stranger = login_api(make_user(name="Stranger"))
    refused = stranger.post("/api/agent-runs", json={"subjectKind": "draftforge.project", "subjectId": project_id,
                                                     "agentType": "test.proofread"})
    assert refused.status_code == 404 and refused.json["error"]["code"] == "NOT_FOUND"


def test_the_fixture_manuscript_is_readable_as_files(fixture_files):
    files = fixture_files
    assert "manuscript/facts.md" in files and sum(p.startswith("chapters/") for p in files) >= 6
