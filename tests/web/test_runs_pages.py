"""The run page (app/web/runs.py): progress, candidates side by side, select with feedback,
regenerate, branch, cancel, resume, and the tenant wall."""

from __future__ import annotations

import re

import pytest

from app.runtime import current_state, repositories
from app.toolkit import Plugin, RunSubject

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


RUN_ACTION = re.compile(r'action="(/runs/[0-9a-f-]{36}/[^"]+)"')


def actions(page: str) -> list[str]:
    return RUN_ACTION.findall(page)


def test_selecting_a_candidate_with_feedback_completes_the_run(app, user, browser, paused, submit, run_jobs):
    response = submit(browser, f"/runs/{paused}/steps/pick/select", {"index": "1", "feedback": "  darker  "},
                      page=f"/runs/{paused}")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/runs/{paused}")
    run_jobs()
    page = browser.get(f"/runs/{paused}").get_data(as_text=True)
    assert 'data-status="completed"' in page
    assert "Candidate 2 of pick is chosen" in page
    assert "Idea: a lighthouse (candidate 2) | darker | warm" in page  # the feedback reached the next step
    assert "chose #2" in page
    assert 'class="candidate"' not in page and "Cancel run" not in page


def test_feedback_too_long_is_shown_beside_that_candidate_and_nothing_is_chosen(browser, paused, submit):
    response = submit(browser, f"/runs/{paused}/steps/pick/select", {"index": "2", "feedback": "x" * 20_001},
                      page=f"/runs/{paused}")

    # A redirect back to the run page (a reload there re-sends nothing), the error beside the
    # field and what was typed still in it.
    assert response.status_code == 303
    assert response.headers["Location"] == f"/runs/{paused}?step=pick#choose-pick"
    shown = browser.get(response.headers["Location"])
    page = shown.get_data(as_text=True)
    block = re.search(r'<article class="candidate" aria-labelledby="feedback-1-2-title">.*?</article>', page,
                      re.S).group(0)
    assert "Field cannot be longer than 20000 characters." in block
    assert 'aria-describedby="feedback-1-2-errors"' in block and "x" * 20_001 in block
    assert page.count('class="errors" id="feedback-') == 1
    assert re.search(r'id="step-pick"[^>]*data-status="awaiting_selection"', page)
    # Shown once: the reload is the plain page.
    again = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="errors" id="feedback-' not in again


def test_a_candidate_that_does_not_exist_is_refused_on_the_page(browser, paused, submit):
    response = submit(browser, f"/runs/{paused}/steps/pick/select", {"index": "7"}, page=f"/runs/{paused}")

    assert response.status_code == 303 and response.headers["Location"] == f"/runs/{paused}"  # a reload sends nothing
    assert "Step pick has candidates 0 to 2." in browser.get(f"/runs/{paused}").get_data(as_text=True)


def test_selecting_twice_says_the_step_is_already_decided(browser, paused, submit):
    submit(browser, f"/runs/{paused}/steps/pick/select", {"index": "0"}, page=f"/runs/{paused}")
    response = submit(browser, f"/runs/{paused}/steps/pick/select", {"index": "1"}, page=f"/runs/{paused}",
                      follow_redirects=True)

    assert response.status_code == 200
    assert "Step pick is completed, not awaiting a selection." in response.get_data(as_text=True)


def test_regenerate_adds_candidates_beside_the_first_three(browser, paused, submit, run_jobs):
    response = submit(browser, f"/runs/{paused}/steps/pick/regenerate", page=f"/runs/{paused}")

    assert response.status_code == 302
    run_jobs()
    page = browser.get(f"/runs/{paused}").get_data(as_text=True)
    assert page.count('class="candidate"') == 6
    assert "Idea: a lighthouse (candidate 6)" in page


def test_branching_from_a_step_starts_a_new_run_with_changed_inputs(app, user, browser, paused, submit, run_jobs):
    submit(browser, f"/runs/{paused}/steps/pick/select", {"index": "0", "feedback": "lighter"},
           page=f"/runs/{paused}")
    run_jobs()
    page = browser.get(f"/runs/{paused}").get_data(as_text=True)
    assert f"/runs/{paused}/branch/write" in actions(page)

    response = submit(browser, f"/runs/{paused}/branch/write",
                      {"branch-write-input_premise": "a lighthouse", "branch-write-input_tone": "stormy"},
                      page=f"/runs/{paused}")

    assert response.status_code == 302
    branch_id = response.headers["Location"].rsplit("/", 1)[1]
    assert branch_id != paused
    run_jobs()
    page = browser.get(f"/runs/{branch_id}").get_data(as_text=True)
    assert 'data-status="completed"' in page
    assert "Idea: a lighthouse | lighter | stormy" in page  # the chosen idea and its feedback carried over
    assert re.search(rf'Branched from\s*<a href="/runs/{paused}">', page)
    assert "at <code>write</code>" in page
    assert f'href="/runs/{branch_id}"' in browser.get(f"/runs/{paused}").get_data(as_text=True)


def test_a_bad_branch_input_is_shown_beside_the_field_and_starts_nothing(app, user, browser, paused, submit,
                                                                         errors_beside):
    response = submit(browser, f"/runs/{paused}/branch/idea", {"branch-idea-input_premise": "two\nlines"},
                      page=f"/runs/{paused}")

    # Back to the run page (a reload there sends nothing), the error beside the field, once.
    assert response.status_code == 303
    assert response.headers["Location"] == f"/runs/{paused}?branch=idea#branch-from-idea"
    shown = browser.get(response.headers["Location"])
    assert errors_beside(shown, "branch-idea-input_premise") == ["Must be one line (use type text for several)."]
    page = shown.get_data(as_text=True)
    assert re.search(r'<details id="branch-from-idea" open>\s*<summary>Branch from <code>idea</code>', page)
    assert "two\nlines" in page  # what was typed is still there to fix
    assert errors_beside(browser.get(response.headers["Location"]), "branch-idea-input_premise") == []
    with app.app_context():
        assert len(repositories(user.tenant_id).runs.list()) == 1


def test_cancel_stops_an_active_run_and_a_second_cancel_is_a_message_not_an_error(browser, paused, submit):
    response = submit(browser, f"/runs/{paused}/cancel", page=f"/runs/{paused}", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The run is cancelled." in page and 'data-status="cancelled"' in page
    assert "Cancel run" not in page

    again = browser.post(f"/runs/{paused}/cancel", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert again.status_code == 200
    assert "The run is already cancelled; there is nothing to cancel." in again.get_data(as_text=True)


def test_another_tenants_run_is_not_found_for_reading_or_acting(app, paused, make_user, sign_in, submit):
    stranger = sign_in(app.test_client(), make_user(name="Mallory"))

    assert stranger.get(f"/runs/{paused}").status_code == 404
    assert stranger.get(f"/runs/{paused}/live").status_code == 404
    response = submit(stranger, f"/runs/{paused}/cancel", page="/")
    assert response.status_code == 404
    response = submit(stranger, f"/runs/{paused}/steps/pick/select", {"index": "0"}, page="/")
    assert response.status_code == 404
    assert stranger.get("/runs/not-a-uuid").status_code == 404


def test_a_post_without_the_forms_token_changes_nothing(browser, paused):
    response = browser.post(f"/runs/{paused}/cancel")

    assert response.status_code == 400
    assert 'data-status="paused"' in browser.get(f"/runs/{paused}").get_data(as_text=True)


def test_the_live_fragment_carries_the_parts_the_script_swaps(browser, paused):
    fragment = browser.get(f"/runs/{paused}/live").get_data(as_text=True)

    assert '<section class="card" data-live="summary"' in fragment
    assert 'data-live="steps"' in fragment and 'data-live="candidates" data-version="' in fragment
    assert "<html" not in fragment


def test_the_run_page_subscribes_to_the_event_stream_and_refreshes_without_script(browser, story, api_client):
    run_id = api_client.post("/api/runs", json={"workflow": "story", "inputs": {"premise": "x"}}).json["data"]["id"]

    page = browser.get(f"/runs/{run_id}").get_data(as_text=True)

    assert f'data-events-url="/api/runs/{run_id}/events"' in page
    assert '<script src="/static/run.js" defer></script>' in page
    assert '<noscript><meta http-equiv="refresh" content="4"></noscript>' in page
    # A browser's session cookie reads the JSON API (GET only): the stream answers it.
    events = browser.get(f"/api/runs/{run_id}/events?follow=false")
    assert events.status_code == 200 and events.mimetype == "text/event-stream"


OFFLINE_PICK = """\
name: offline.pick
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: angle
    skill: text.generate
    candidates: 2
    select: user
    with: {prompt: "Suggest an angle for an article about {{ inputs.topic }}.", max_tokens: 60}
"""


def test_candidates_written_offline_carry_the_offline_label_and_their_model(browser, api_client, run_jobs):
    api_client.post("/api/workflows", data=OFFLINE_PICK, content_type="application/yaml")
    run_id = api_client.post("/api/runs", json={"workflow": "offline.pick", "inputs": {"topic": "tides"}}
                             ).json["data"]["id"]
    run_jobs()

    page = browser.get(f"/runs/{run_id}").get_data(as_text=True)

    articles = re.findall(r'<article class="candidate".*?</article>', page, re.S)
    assert len(articles) == 2
    for article in articles:
        assert 'class="badge badge-offline" title="Written by the offline provider, not a real model"' in article
        assert "offline:writer" in article
    assert re.search(r"\$0\.0+", page)


def test_the_dashboard_lists_recent_runs_with_status_and_a_link(browser, paused):
    page = browser.get("/").get_data(as_text=True)

    row = re.search(rf'<tr data-run="{paused}">.*?</tr>', page, re.S).group(0)
    assert "story" in row and 'data-status="paused"' in row
    assert f'href="/runs/{paused}"' in row
    assert "paused: 1 of 3 completed, 1 waiting, 1 remaining" in row


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_a_run_paused_on_its_budget_resumes_with_a_higher_one_from_the_page(browser, api_client, submit, run_jobs):
    uploaded = api_client.post("/api/workflows", data=OFFLINE_PICK.replace("    candidates: 2\n    select: user\n", ""),
                               content_type="application/yaml")
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    started = api_client.post("/api/runs", json={"workflow": "offline.pick", "inputs": {"topic": "tides"},
                                                 "budget": {"tokens": 5}})
    assert started.status_code == 202, started.get_data(as_text=True)
    run_id = started.json["data"]["id"]
    run_jobs()
    page = browser.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'data-status="paused"' in page and "budget" in page.split('class="pause-reason"')[1][:300]
    assert 'action="/runs/' + run_id + '/resume"' in page

    bad = submit(browser, f"/runs/{run_id}/resume", {"budget_tokens": "-3"}, page=f"/runs/{run_id}")
    assert bad.status_code == 303 and bad.headers["Location"] == f"/runs/{run_id}"
    assert "Number must be between 1 and 1000000000000." in browser.get(f"/runs/{run_id}").get_data(as_text=True)

    response = submit(browser, f"/runs/{run_id}/resume", {"budget_tokens": "5000"}, page=f"/runs/{run_id}")
    assert response.status_code == 302
    run_jobs()
    page = browser.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'data-status="completed"' in page and "5000 tokens" in page


# A failed run, told honestly, and retried from its page (issue 9) ---------------------------------

ASKING = """\
name: asking
version: "1"
steps:
  - id: ask
    skill: text.generate
    with: {prompt: "One line about owls", model: "offline:writer"}
  - id: polish
    skill: test.echo
    with: {text: "{{ steps.ask.output.text }}"}
  - id: title
    skill: test.echo
    with: {text: "Title of {{ steps.polish.output.text }}"}
  - id: blurb
    skill: test.echo
    with: {text: "Blurb of {{ steps.polish.output.text }}"}
"""


@pytest.fixture
def failed(api_client, run_jobs, uninstalled_provider) -> str:
    """A run whose first step failed (its provider went away after the run started) and whose
    other three were skipped; the provider is back when the fixture returns."""
    uploaded = api_client.post("/api/workflows", data=ASKING, content_type="application/yaml")
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    run_id = api_client.post("/api/runs", json={"workflow": "asking"}).json["data"]["id"]
    with uninstalled_provider("offline"):
        run_jobs()
    return run_id


def test_a_failed_run_reads_failed_with_an_empty_bar_and_the_reason_as_code_and_message(browser, failed):
    page = browser.get(f"/runs/{failed}").get_data(as_text=True)

    assert "failed: 1 failed, 3 skipped" in page
    assert "4 of 4" not in page and "steps done" not in page
    assert re.search(r'<progress class="run-bar run-bar-failed" max="100" value="0"', page)
    step = re.search(r'id="step-ask".*?</tr>', page, re.S).group(0)
    assert "<code>UNKNOWN_MODEL</code> No model provider named &#39;offline&#39; is installed." in step
    assert "UnknownModelError" not in page and "Traceback" not in page


def test_the_dashboard_shows_a_failed_run_as_failed_not_done(browser, failed):
    row = re.search(rf'<tr data-run="{failed}">.*?</tr>', browser.get("/").get_data(as_text=True), re.S).group(0)

    assert "failed: 1 failed, 3 skipped" in row and "run-bar-failed" in row and 'value="0"' in row


def test_retry_on_the_run_page_runs_the_failed_run_again_in_place(browser, failed, submit, run_jobs):
    page = browser.get(f"/runs/{failed}").get_data(as_text=True)
    assert f"/runs/{failed}/retry" in actions(page)

    response = submit(browser, f"/runs/{failed}/retry", {}, page=f"/runs/{failed}")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/runs/{failed}")
    run_jobs()
    page = browser.get(f"/runs/{failed}").get_data(as_text=True)
    assert "The run is retried" in page
    assert 'data-status="completed"' in page and "completed: 4 of 4 steps completed" in page
    assert f"/runs/{failed}/retry" not in actions(page)  # nothing left to retry


def test_retry_is_offered_only_for_failed_runs_and_refused_politely_otherwise(browser, paused, submit):
    page = browser.get(f"/runs/{paused}").get_data(as_text=True)
    assert f"/runs/{paused}/retry" not in actions(page)

    response = submit(browser, f"/runs/{paused}/retry", {}, page=f"/runs/{paused}", follow_redirects=True)
    assert "only a failed or crashed run can be retried" in response.get_data(as_text=True)


def test_a_retry_without_the_forms_token_changes_nothing(browser, api_client, failed):
    browser.post(f"/runs/{failed}/retry")

    assert api_client.get(f"/api/runs/{failed}").json["data"]["status"] == "failed"


def test_a_steps_record_shows_attempts_regenerations_and_the_wait_apart(browser, paused, submit, run_jobs):
    submit(browser, f"/runs/{paused}/steps/pick/regenerate", {}, page=f"/runs/{paused}")
    run_jobs()

    page = browser.get(f"/runs/{paused}").get_data(as_text=True)
    record = re.search(r'id="step-pick".*?class="step-record">(.*?)</td>', page, re.S).group(1)
    assert re.match(r"Attempts \d+/\d+ · 1 regeneration", record.strip()), record


def test_tokens_a_server_did_not_report_are_marked_estimated_on_the_run_page(app, browser, api_client, run_jobs,
                                                                            chat_server):
    """Issue 12: usage is labelled where it is shown; only an estimate stands out."""
    from app.chat_server import completion_body

    body = completion_body("No counts from me.")
    del body["usage"]
    chat_server.reply((200, body))
    app.config.update(OPENAI_BASE_URL=chat_server.url, OPENAI_API_KEY="")  # a keyless local server
    api_client.post("/api/workflows", content_type="application/yaml", data=(
        'name: unreported\nversion: "1"\nsteps:\n  - id: ask\n    skill: text.generate\n'
        '    with: {prompt: "Say hi.", model: "openai:gpt-4o-mini"}\n'
        '  - id: echo\n    skill: test.echo\n    needs: [ask]\n    with: {text: "done"}\n'))
    run_id = api_client.post("/api/runs", json={"workflow": "unreported"}).json["data"]["id"]
    run_jobs()

    page = browser.get(f"/runs/{run_id}").get_data(as_text=True)
    rows = {key: row for key, row in re.findall(r'<tr id="step-(\w+)".*?(<td>.*?)</tr>', page, re.S)}
    assert 'class="badge usage-estimated"' in rows["ask"]
    assert "usage-estimated" not in rows["echo"]


def test_outputs_and_candidates_render_as_markdown_and_typed_markup_stays_text(browser, api_client, story, run_jobs):
    premise = "**a lighthouse** <script>alert(1)</script> <img src=x onerror=alert(2)>"
    response = api_client.post("/api/runs", json={"workflow": "story", "inputs": {"premise": premise}})
    run_jobs()

    page = browser.get(f"/runs/{response.json['data']['id']}").get_data(as_text=True)

    # Rendered: the Markdown's emphasis is an element; its source is a click away.
    assert "<strong>a lighthouse</strong>" in page
    assert page.count('class="text-source"') >= 4  # the idea's output and three candidates
    assert "**a lighthouse**" in page  # in the source view
    # What was typed as markup is text wherever it shows.
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_step_waiting_for_a_person_reads_as_your_choice_with_its_candidates(browser, paused):
    page = browser.get(f"/runs/{paused}").get_data(as_text=True)
    assert re.search(r'Your choice: <a href="#choose-pick">pick</a>\s*\(3 candidates\)', page)


class Naming(Plugin):
    """Names every run it is shown, and one with a link off the studio (refused)."""
    name = "naming"

    def run_subjects(self, runs):
        return {run.id: RunSubject("Idea book", f"/ideas/{run.id}") for run in runs}


class FailsToName(Plugin):
    name = "fails_to_name"

    def run_subjects(self, runs):
        raise RuntimeError("run_subjects exploded")


class NamesElsewhere(Plugin):
    name = "names_elsewhere"

    def run_subjects(self, runs):
        return {run.id: RunSubject("Phish", "https://evil.example/") for run in runs}


def test_plugins_name_what_runs_make_and_a_failing_one_costs_only_its_titles(app, browser, paused):
    plugins = current_state(app).registry.plugins
    plugins["fails_to_name"], plugins["names_elsewhere"], plugins["naming"] = FailsToName(), NamesElsewhere(), Naming()

    dashboard = browser.get("/").get_data(as_text=True)
    run_page = browser.get(f"/runs/{paused}").get_data(as_text=True)

    row = re.search(rf'<tr data-run="{paused}">.*?</tr>', dashboard, re.S).group(0)
    assert f'<a href="/ideas/{paused}">Idea book</a>' in row and "naming" in row and "story" in row
    assert "Phish" not in dashboard and "evil.example" not in dashboard  # only pages of the studio
    assert f'This run makes <a href="/ideas/{paused}">Idea book</a>' in run_page


def test_a_run_no_plugin_names_is_shown_by_its_workflow(browser, paused):
    row = re.search(rf'<tr data-run="{paused}">.*?</tr>', browser.get("/").get_data(as_text=True), re.S).group(0)
    assert "story" in row and "<a href=\"/ideas" not in row
    assert "This run makes" not in browser.get(f"/runs/{paused}").get_data(as_text=True)


def test_a_long_input_shows_its_first_lines_and_the_rest_on_request(browser, api_client, story, run_jobs):
    guide = " ".join(f"Rule {number}: keep the sentences short and the verbs active." for number in range(40))
    response = api_client.post("/api/runs", json={"workflow": "story", "inputs": {"premise": "a lighthouse",
                                                                                   "tone": guide}})
    assert response.status_code == 202, response.json
    page = browser.get(f"/runs/{response.json['data']['id']}").get_data(as_text=True)

    inputs = re.search(r'<dl class="inputs">.*?</dl>', page, re.S).group(0)
    assert '<details class="long-text">' in inputs and "Rule 0: keep" in inputs and "words; show all" in inputs
    assert "<dd>a lighthouse</dd>" in inputs.replace("\n", "")  # a short one is shown as it is
    assert "Rule 39" in inputs  # all of it is there, behind the summary
