"""The workflow catalog, uploading, and the run form generated from declared inputs
(app/web/workflows.py, app/web/input_forms.py)."""

from __future__ import annotations

import re

import pytest

from app.runtime import current_state, repositories
from app.toolkit import Plugin

EVERY_TYPE = """\
name: every.type
version: "2"
description: One input of each declared type, to see the form a person gets.
inputs:
  title: {type: string, required: true, max_length: 80, description: What the piece is called.}
  brief: {type: text, default: "Keep it short."}
  chapters: {type: integer, default: 3, min: 1, max: 12}
  temperature: {type: number, min: 0, max: 2}
  formal: {type: boolean, default: false}
  genre: {type: enum, choices: [mystery, romance, fable], default: fable}
  characters: {type: list, description: Who appears.}
  draft_model: {type: string, default: "offline:writer", description: provider:model that drafts.}
steps:
  - id: draft
    skill: test.echo
    with: {text: "{{ inputs.title }} / {{ inputs.genre }} / {{ inputs.chapters }} / {{ inputs.characters }}"}
"""


@pytest.fixture
def every_type(api_client):
    response = api_client.post("/api/workflows", data=EVERY_TYPE, content_type="application/yaml")
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def field_block(page: str, field_id: str) -> str:
    """The ``<div class="field">`` that holds one control: its label, help and errors."""
    match = re.search(rf'<div class="field[^"]*">\s*<label for="{field_id}">.*?</div>', page, re.S)
    assert match, f"no field {field_id} on the page"
    return match.group(0)


def run_count(app, account) -> int:
    with app.app_context():
        return len(repositories(account.tenant_id).runs.list())


# Catalog --------------------------------------------------------------------------------

def test_the_catalog_lists_each_workflow_with_its_version_description_and_inputs(browser, every_type):
    page = browser.get("/workflows").get_data(as_text=True)

    section = re.search(r'<section class="card workflow" id="workflow-every.type".*?</section>', page, re.S).group(0)
    assert "every.type <span class=\"muted\">v2</span>" in section
    assert "One input of each declared type" in section
    assert "<code>chapters</code></td><td>integer</td>" in section
    assert "mystery, romance, fable" in section
    assert 'href="/workflows/every.type/run"' in section


def test_uploading_a_workflow_on_the_page_adds_it_to_the_catalog(browser, submit):
    response = submit(browser, "/workflows", {"source": EVERY_TYPE.replace("every.type", "mine")})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/workflows/mine/run")
    assert "mine <span class=\"muted\">v2</span>" in browser.get("/workflows").get_data(as_text=True)


def test_an_invalid_workflow_shows_its_problems_with_their_lines_beside_the_document(browser, submit,
                                                                                     errors_beside):
    source = "name: broken\nversion: '1'\nsteps:\n  - id: a\n    skill: no.such.skill\n"
    response = submit(browser, "/workflows", {"source": source})

    assert response.status_code == 400
    errors = errors_beside(response, "source")
    assert any("line 5" in error and "no.such.skill" in error for error in errors), errors
    assert "broken" not in browser.get("/workflows").get_data(as_text=True).split("Upload a workflow")[0]


# The generated form ---------------------------------------------------------------------

def test_the_run_form_has_the_control_each_input_type_asks_for(browser, every_type):
    page = browser.get("/workflows/every.type/run").get_data(as_text=True)

    assert re.search(r'<input[^>]*id="input_title"[^>]*maxlength="80"[^>]*required[^>]*type="text"', page)
    assert re.search(r'<textarea[^>]*id="input_brief"[^>]*>\s*Keep it short.</textarea>', page)
    assert re.search(r'<input[^>]*id="input_chapters"[^>]*max="12"[^>]*min="1"[^>]*type="number"[^>]*value="3"',
                     page)
    assert re.search(r'<input[^>]*id="input_temperature"[^>]*max="2"[^>]*min="0"[^>]*type="number"', page)
    assert re.search(r'<input[^>]*id="input_formal"[^>]*type="checkbox"', page)
    genre = re.search(r'<select[^>]*id="input_genre".*?</select>', page, re.S).group(0)
    assert re.findall(r">(\w+)</option>", genre) == ["mystery", "romance", "fable"]
    assert re.search(r'<option selected value="2">fable</option>', genre)
    assert re.search(r'<textarea[^>]*id="input_characters"', page)
    assert "Who appears. One item per line." in field_block(page, "input_characters")
    assert "From 1 to 12." in field_block(page, "input_chapters")
    assert re.search(r'<input[^>]*id="budget_tokens"[^>]*type="number"', page)
    # An input naming a model offers the catalog, priced or marked offline (issue 12); others do not.
    assert re.search(r'<input[^>]*id="input_draft_model"[^>]*list="model-catalog"', page)
    assert page.count('list="model-catalog"') == 1 and '<option value="offline:writer" label="offline' in page


def test_bad_input_re_renders_the_form_with_each_error_beside_its_field_and_starts_nothing(
        app, user, browser, every_type, submit, errors_beside):
    response = submit(browser, "/workflows/every.type/run", {
        "input_title": "", "input_chapters": "40", "input_temperature": "warm", "input_genre": "7",
        "budget_tokens": "0"})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_beside(response, "input_title") == ["Missing data for required input."]
    assert errors_beside(response, "input_chapters") == ["Must be at most 12."]
    assert errors_beside(response, "input_temperature") == ["Enter a number."]
    assert errors_beside(response, "input_genre") == ["Not a valid choice."]
    assert errors_beside(response, "budget_tokens") == ["Number must be between 1 and 1000000000000."]
    # Each error sits inside its own field's block, tied to the control for screen readers.
    block = field_block(page, "input_chapters")
    assert 'aria-describedby="input_chapters-help input_chapters-errors"' in block
    assert "Must be at most 12." in block and 'aria-invalid="true"' in block
    assert re.search(r'id="input_chapters"[^>]*value="40"', page)  # what was typed stays
    assert run_count(app, user) == 0


def test_a_title_of_two_lines_is_refused_beside_the_title(browser, every_type, submit, errors_beside):
    response = submit(browser, "/workflows/every.type/run", {"input_title": "a\nb"})

    assert response.status_code == 400
    assert errors_beside(response, "input_title") == ["Must be one line (use type text for several)."]


def test_a_good_post_starts_the_run_with_typed_values_and_defaults_and_opens_its_page(
        app, user, browser, every_type, submit, run_jobs):
    response = submit(browser, "/workflows/every.type/run", {
        "input_title": "The Lighthouse", "input_chapters": "5", "input_formal": "y", "input_genre": "0",
        "input_characters": "Ada\n\n  Grace  \n", "budget_tokens": "5000"})

    assert response.status_code == 302
    run_id = re.fullmatch(r".*/runs/([0-9a-f-]{36})", response.headers["Location"]).group(1)
    with app.app_context():
        run = repositories(user.tenant_id).runs.require(run_id)
        assert run.inputs == {"title": "The Lighthouse", "brief": "Keep it short.", "chapters": 5,
                              "temperature": None, "formal": True, "genre": "mystery",
                              "characters": ["Ada", "Grace"], "draft_model": "offline:writer"}
        assert run.budget_tokens == 5000
    run_jobs()
    page = browser.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'data-status="completed"' in page
    assert "The Lighthouse / mystery / 5 / [&#39;Ada&#39;, &#39;Grace&#39;]" in page


CHOOSY = """\
name: choosy
version: "1"
inputs:
  topic: {type: string, default: owls}
  model: {type: string, default: "offline:writer", description: provider:model}
steps:
  - id: ask
    skill: text.generate
    with: {prompt: "One line about {{ inputs.topic }}", model: "{{ inputs.model }}"}
"""


@pytest.mark.parametrize(("model", "says"), [("foo:bar", "foo:bar: No model provider named 'foo' is installed."),
                                            ("offline:nope", "has no price in the model catalog")],
                         ids=["unknown", "unpriced"])
def test_a_model_that_cannot_be_used_is_refused_beside_its_field_and_starts_nothing(
        app, user, api_client, browser, submit, errors_beside, model, says):
    api_client.post("/api/workflows", data=CHOOSY, content_type="application/yaml")

    response = submit(browser, "/workflows/choosy/run", {"input_model": model})

    assert response.status_code == 422
    [error] = errors_beside(response, "input_model")
    assert model in error and says in error
    assert run_count(app, user) == 0


def test_an_unknown_workflow_is_a_404_page(browser):
    response = browser.get("/workflows/no.such/run")

    assert response.status_code == 404
    assert "No workflow named" in response.get_data(as_text=True)


def test_the_catalog_needs_a_signed_in_person(client):
    response = client.get("/workflows")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_navigation_links_the_catalog_and_the_account_pages(browser):
    page = browser.get("/").get_data(as_text=True)

    for href in ("/workflows", "/account/credits", "/account/provider-keys", "/api-keys"):
        assert f'href="{href}"' in page
    assert "/admin/rq/" not in page


class Linked(Plugin):
    name = "linked"

    def navigation(self):
        return [("Catalogue", "studio.workflows"), ("Nowhere", "no_such.endpoint"), ("Needs an id", "studio.run_page")]


class Broken(Plugin):
    name = "broken_nav"

    def navigation(self):
        raise RuntimeError("navigation exploded")


def test_plugins_add_navigation_links_after_the_cores_and_a_broken_one_costs_only_its_links(app, browser):
    plugins = current_state(app).registry.plugins
    plugins["broken_nav"], plugins["linked"] = Broken(), Linked()

    response = browser.get("/workflows")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    nav = re.search(r'<nav aria-label="Main">.*?</nav>', page, re.S).group(0)
    assert re.search(r'href="/workflows"[^>]*>Workflows</a>.*class="plugin-link" aria-current="page">Catalogue</a>',
                     nav, re.S)
    assert "Nowhere" not in nav and "Needs an id" not in nav


def test_signed_out_visitors_see_no_plugin_links(app, client):
    current_state(app).registry.plugins["linked"] = Linked()

    assert "Catalogue" not in client.get("/login").get_data(as_text=True)
