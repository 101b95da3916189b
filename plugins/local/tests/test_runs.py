"""A workflow run whose step asks ``local:smollm2``, end to end: the API starts it, a real
``threads`` worker runs ``text.generate`` with the model loaded in the worker's process, and the
run, its AI response and the usage log record it as a real (not offline), local, free call."""

from __future__ import annotations

import json

import pytest
from inkwright_local.model_files import smollm2_gguf

pytestmark = [pytest.mark.usefixtures("real_model"), pytest.mark.timeout(180)]

WORKFLOW = """
name: local-haiku
version: "1"
description: One line from the local model, then a title for it as JSON.
inputs:
  topic: {type: string, default: herons}
defaults: {model: "local:smollm2", max_tokens: 32, temperature: 0}
steps:
  - id: line
    skill: text.generate
    with: {prompt: "Write one line of poetry about {{ inputs.topic }}."}
  - id: title
    skill: text.generate
    with:
      prompt: "Give this line a short title: {{ steps.line.output.text }}"
      json_schema: {type: object, required: [title], additionalProperties: false,
                    properties: {title: {type: string, minLength: 1, maxLength: 40}}}
"""


def test_a_run_on_local_smollm2_is_written_by_the_model_on_a_worker(api_client, run_jobs):
    uploaded = api_client.post("/api/workflows", data=WORKFLOW, content_type="application/yaml")
    assert uploaded.status_code in (200, 201), uploaded.get_data(as_text=True)
    started = api_client.post("/api/runs", json={"workflow": "local-haiku", "inputs": {"topic": "herons"}})
    assert started.status_code == 202, started.json
    run_jobs("threads")

    run = api_client.get(f"/api/runs/{started.json['data']['id']}").json["data"]
    assert run["status"] == "completed", json.dumps([step.get("error") for step in run["steps"]])
    line, title = (next(step for step in run["steps"] if step["key"] == key) for key in ("line", "title"))
    assert line["output"]["text"].strip() and line["output"]["offline"] is False
    assert 1 <= len(title["output"]["data"]["title"]) <= 40
    for step in (line, title):
        [response] = step["responses"]
        assert (response["model"], response["provider"], response["offline"]) == ("local:smollm2", "local", False)
        assert response["tokensInput"] > 5 and 0 < response["tokensOutput"] <= 32
    assert run["tokensInput"] + run["tokensOutput"] == sum(
        step["responses"][0]["tokensTotal"] for step in (line, title))

    usage = api_client.get("/api/account/usage?limit=10").json["data"]["items"]
    assert sorted((row["keySource"], row["status"], row["creditsCharged"], row["costCents"]) for row in usage) == [
        ("local", "success", 0, 0)] * 2


def test_a_one_off_completion_names_the_local_model(api_client):
    response = api_client.post("/api/completions", json={"model": "local:smollm2", "prompt": "Say hello.",
                                                        "maxTokens": 12, "temperature": 0})
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert data["text"].strip() and data["offline"] is False and 0 < data["tokensOutput"] <= 12



@pytest.fixture
def inkwright_config(inkwright_config, request, tmp_path):
    """The test app's settings; ``tiny`` (indirect parameter) serves SmolLM2's file as local:tiny,
    ``tiny priced`` also prices it in a MODEL_CATALOG file."""
    chosen = getattr(request, "param", "")
    if not chosen:
        return inkwright_config
    request.getfixturevalue("real_model")
    config = {**inkwright_config, "LOCAL_MODELS": f"tiny={smollm2_gguf()}"}
    if chosen == "tiny priced":
        catalog = tmp_path / "models.yaml"
        catalog.write_text('models:\n  - {name: "local:tiny", context_window: 2048, input_per_1k: 0, '
                           'output_per_1k: 0}\n')
        config["MODEL_CATALOG"] = str(catalog)
    return config


ASK_TINY = {"model": "local:tiny", "prompt": "Name a colour.", "maxTokens": 8, "temperature": 0}


@pytest.mark.parametrize("inkwright_config", ["tiny"], indirect=True)
def test_a_local_models_file_needs_a_price_before_it_is_called(api_client):
    refused = api_client.post("/api/completions", json=ASK_TINY)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "MODEL_NOT_PRICED", refused.json


@pytest.mark.parametrize("inkwright_config", ["tiny priced"], indirect=True)
def test_a_priced_local_models_file_is_called_by_its_name(api_client):
    answered = api_client.post("/api/completions", json=ASK_TINY)
    assert answered.status_code == 200, answered.json
    assert answered.json["data"]["text"].strip() and answered.json["data"]["model"] == "tiny"
