"""A workflow step ``agent: <name>`` (app/workflows/loader.py, app/skills/agent_review.py):
validated like a skill, run in the step's job, recorded as an agent run, its output the results."""

from __future__ import annotations

REVIEWED = """
name: reviewed
version: "1"
inputs:
  text: {type: text, required: true}
steps:
  - id: draft
    skill: test.echo
    with: {text: "{{ inputs.text }}"}
  - id: review
    agent: test.proofread
    needs: [draft]
"""


def test_an_agent_step_reviews_the_runs_texts_and_records_an_agent_run(api_client, run_jobs):
    assert api_client.post("/api/workflows", data=REVIEWED, content_type="application/yaml").status_code in (200, 201)
    started = api_client.post("/api/runs", json={"workflow": "reviewed", "inputs": {"text": "It was was dark."}})
    assert started.status_code == 202, started.json
    run_jobs()

    run = api_client.get(f"/api/runs/{started.json['data']['id']}").json["data"]
    assert run["status"] == "completed", run
    [review] = [step for step in run["steps"] if step["key"] == "review"]
    output = review["output"]
    assert [(i["category"], i["file"], i["line"]) for i in output["issues"] if i["category"] == "doubled_word"] == [
        ("doubled_word", "steps/draft.md", 1)]
    assert set(output) >= {"agent_run_id", "issues", "stats", "model_info"}

    recorded = api_client.get(f"/api/agent-runs/{output['agent_run_id']}").json["data"]
    assert (recorded["status"], recorded["subjectKind"], recorded["projectId"], recorded["triggerRef"]) == (
        "completed", "inkwright.run", run["id"], "step:review")


def refused(response) -> dict:
    assert response.status_code == 400 and response.json["error"]["code"] == "WORKFLOW_INVALID", response.json
    return response.json["error"]


def test_an_unknown_agent_is_refused_with_its_line(api_client):
    source = REVIEWED.replace("agent: test.proofread", "agent: no.such.agent")
    error = refused(api_client.post("/api/workflows", data=source, content_type="application/yaml"))
    assert "unknown agent 'no.such.agent'" in str(error["details"])
    assert error["details"]["problems"][0]["line"] == 11  # the step's agent line


def test_a_step_cannot_name_both_a_skill_and_an_agent(api_client):
    source = REVIEWED.replace("    agent: test.proofread\n", "    agent: test.proofread\n    skill: test.echo\n")
    error = refused(api_client.post("/api/workflows", data=source, content_type="application/yaml"))
    assert "a skill or an agent, not both" in str(error["details"])
