"""What the agent-run tests share: a finished workflow run to review (the core's own subject
kind, ``inkwright.run``), with a doubled word and a TODO in its text."""

from __future__ import annotations

import pytest

DRAFTING = """
name: drafting
version: "1"
inputs:
  text: {type: text, required: true}
steps:
  - id: draft
    skill: test.echo
    with: {text: "{{ inputs.text }}"}
"""

TEXT = "The lighthouse stood on the the cliff.\nIts keeper slept.\nTODO: a storm."


@pytest.fixture
def reviewed_run(api_client, run_jobs) -> str:
    """The id of a completed run whose one step wrote ``TEXT``."""
    assert api_client.post("/api/workflows", data=DRAFTING, content_type="application/yaml").status_code in (200, 201)
    started = api_client.post("/api/runs", json={"workflow": "drafting", "inputs": {"text": TEXT}})
    assert started.status_code == 202, started.json
    run_jobs()
    assert api_client.get(f"/api/runs/{started.json['data']['id']}").json["data"]["status"] == "completed"
    return started.json["data"]["id"]


@pytest.fixture
def start_review(api_client, reviewed_run):
    def start(**body):
        return api_client.post("/api/agent-runs", json={
            "subjectKind": "inkwright.run", "subjectId": reviewed_run, "agentType": "test.proofread", **body})
    return start
