"""A story written by a real model: llama-cpp-python's own server with SmolLM2, through the
``openai`` provider and the whole metering path (issue 12). The outline is JSON the server
was asked for in the form it takes (it refuses json_schema with HTTP 500): at most two tries
per structured call, never the retry storm of twelve. Skipped, saying why, where
llama-cpp-python is not installed."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.timeout(300)

MODEL = "openai:smollm2"


@pytest.fixture
def inkwright_config(inkwright_config, llama_config):
    return {**inkwright_config, **llama_config}


def test_a_three_chapter_story_is_written_by_the_real_model(api_client, run_jobs):
    started = api_client.post("/api/workflows/story/generate", json={
        "n_chapters": 3, "story_instructions": "A lighthouse keeper finds a message in a bottle.",
        "primary_characters": "Mara", "l_chapter": 50, "model": MODEL})
    assert started.status_code == 202, started.json
    run_jobs()

    session = started.json["data"]["sessionId"]
    run = api_client.get(f"/api/runs/{session}").json["data"]
    assert run["status"] == "completed", json.dumps(run.get("error"))
    story = api_client.get(f"/api/stories/{started.json['data']['story']['id']}").json["data"]
    assert story["status"] == "completed" and len(story["chapters"]) == 3
    assert all(chapter["content"].strip() for chapter in story["chapters"])
    assert not any(candidate["offline"] for step in run["steps"] for candidate in step["candidates"] or [])

    # One attempt of the outline, one metered call, at most two tries: the form the server
    # refuses (json_schema, HTTP 500) the first time it is asked, then the one it takes; each
    # try is a row of the usage log under the call's id.
    outline = next(step for step in run["steps"] if step["key"] == "outline")
    assert outline["attempt"] == 1 and [r["model"] for r in outline["responses"]] == [MODEL]
    usage = api_client.get("/api/account/usage?limit=100").json["data"]["items"]
    tries = sorted((row for row in usage if row["runStepId"] == outline["id"]), key=lambda row: row["callTry"])
    assert 1 <= len(tries) <= 2 and len({row["callId"] for row in tries}) == 1
    assert [row["callTry"] for row in tries] == list(range(1, len(tries) + 1))
    assert tries[-1]["status"] == "success" and tries[-1]["usageSource"] == "reported"
