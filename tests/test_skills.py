"""The core's own skills (app/skills/): template.render, json.shape and test.echo, alone and
as steps of real runs."""

from __future__ import annotations

import pytest

from app.errors import ValidationError
from app.skills.shaping import ShapeJson
from app.skills.template import RenderTemplate


@pytest.fixture
def run_workflow(api_client, run_jobs):
    """Upload a workflow, start a run over the API, work the queue; the run as the API shows it,
    with its steps by key."""

    def run(source: str, **inputs) -> tuple[dict, dict[str, dict]]:
        uploaded = api_client.post("/api/workflows", data=source, content_type="application/yaml")
        assert uploaded.status_code in (200, 201), uploaded.json
        name = uploaded.json["data"]["name"]
        started = api_client.post("/api/runs", json={"workflow": name, "inputs": inputs})
        assert started.status_code == 202, started.json
        run_jobs()
        detail = api_client.get(f"/api/runs/{started.json['data']['id']}").json["data"]
        return detail, {step["key"]: step for step in detail["steps"]}

    return run


def render(**inputs):
    return RenderTemplate().run(None, RenderTemplate.input_schema().load(inputs))


def shape(**inputs):
    return ShapeJson().run(None, ShapeJson.input_schema().load(inputs))


def test_template_render_renders_with_its_values():
    assert render(template="{{ title }} by {{ author | upper }}", values={"title": "Owls", "author": "ada"}) == {
        "text": "Owls by ADA"}


def test_template_render_refuses_a_missing_value_instead_of_writing_blank_text():
    with pytest.raises(ValidationError, match="'author' is undefined"):
        render(template="{{ title }} by {{ author }}", values={"title": "Owls"})


def test_template_render_runs_in_the_sandbox():
    with pytest.raises(ValidationError, match="could not be rendered"):
        render(template="{{ ''.__class__.__mro__[1].__subclasses__() }}")


def test_json_shape_picks_renames_then_sets_keys():
    data = {"title": "Owls", "words": 1200, "draft": True}

    assert shape(data=data, pick=["title", "words"], rename={"words": "length"}, set={"status": "final"}) == {
        "data": {"title": "Owls", "length": 1200, "status": "final"}}
    assert shape(data=data) == {"data": data}  # nothing asked: everything kept


def test_json_shape_refuses_to_pick_a_key_the_data_lacks():
    with pytest.raises(ValidationError, match="no key 'author'"):
        shape(data={"title": "Owls"}, pick=["title", "author"])


PIPELINE = """
name: shaping
version: "1"
inputs:
  title: {type: string, required: true}
steps:
  - id: meta
    skill: json.shape
    retry: {max_attempts: 3, backoff: 0}
    with:
      data: {title: "{{ inputs.title }}", words: 1200}
      pick: [PICK]
      rename: {title: heading}
  - id: line
    skill: template.render
    with:
      template: "# {% raw %}{{ heading }} ({{ words }} words){% endraw %}"
      values: "{{ steps.meta.output.data }}"
"""


def test_shaping_and_rendering_as_steps_of_a_run(run_workflow):
    run, steps = run_workflow(PIPELINE.replace("PICK", "title, words"), title="Owls")

    assert run["status"] == "completed"
    assert steps["meta"]["output"] == {"data": {"heading": "Owls", "words": 1200}}
    assert steps["line"]["output"] == {"text": "# Owls (1200 words)"}


def test_a_skill_refusing_its_inputs_fails_the_step_without_retrying(run_workflow):
    run, steps = run_workflow(PIPELINE.replace("PICK", "title, author"), title="Owls")

    meta = steps["meta"]
    assert (meta["status"], meta["error"]["code"]) == ("failed", "VALIDATION_ERROR")
    assert "author" in meta["error"]["message"]
    assert [attempt["outcome"] for attempt in meta["attempts"]] == ["failed"]
    assert (run["status"], run["error"]["failedStepId"]) == ("failed", "meta")


ECHO = """
name: echoing
version: "1"
inputs:
  text: {type: string, required: true}
steps:
  - id: echo
    skill: test.echo
    cache: off
    candidates: 2
    with: {text: "{{ inputs.text }}"}
"""


def test_echo_answers_the_same_inputs_the_same_way_every_time(run_workflow):
    runs = [run_workflow(ECHO, text=text) for text in ("owls", "owls", "bats")]

    echoes = [steps["echo"] for _run, steps in runs]
    assert [len(echo["attempts"]) for echo in echoes] == [1, 1, 1]  # no cache: each run really ran
    outputs = [[candidate["output"] for candidate in echo["candidates"]] for echo in echoes]
    assert outputs[0] == outputs[1] and outputs[0][0]["text"] == "owls"
    assert outputs[0][0]["digest"] != outputs[0][1]["digest"]  # another candidate, another answer
    assert outputs[0][0]["digest"] != outputs[2][0]["digest"]  # other text, another answer
    assert [output["candidate"] for output in outputs[0]] == [0, 1]
