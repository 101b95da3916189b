"""The run page (app/web/runs.py): progress, candidates side by side, select with feedback,
regenerate, branch, cancel, resume, and the tenant wall."""

from __future__ import annotations

import re

import pytest

STORY = """\
name: story
version: "1"
description: A premise, three ideas to choose from, then the telling.
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
def story(api_client):
    response = api_client.post("/api/workflows", data=STORY, content_type="application/yaml")
    assert response.status_code in (200, 201), response.get_data(as_text=True)


@pytest.fixture
def paused(api_client, story, run_jobs) -> str:
    """A story run waiting for a person to pick one of three ideas; returns its id."""
    response = api_client.post("/api/runs", json={"workflow": "story", "inputs": {"premise": "a lighthouse"}})
    assert response.status_code == 202, response.get_data(as_text=True)
    run_jobs()
    return response.json["data"]["id"]


def test_the_run_page_shows_steps_and_the_candidates_side_by_side(browser, paused):
    response = browser.get(f"/runs/{paused}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-status="paused"' in page
    assert "Paused: Waiting for a person" in page
    assert re.search(r'id="step-idea"[^>]*data-status="completed"', page)
    assert re.search(r'id="step-pick"[^>]*data-status="awaiting_selection"', page)
    assert page.count('class="candidate"') == 3
    assert "Idea: a lighthouse (candidate 2)" in page
