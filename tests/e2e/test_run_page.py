"""The run page in a real browser: upload a workflow, start it from its generated form,
watch the page follow the run live (Server-Sent Events, no reload) to the candidates,
pick one with feedback, and see the run complete.

Runs the real ``flask inkwright studio`` process (web + worker) and Debian's headless Chromium.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/e2e-run-page.png"

PITCH = """\
name: pitch
version: "1"
description: Warm up, offer two angles to choose from, then write the pitch with your feedback.
inputs:
  topic: {type: string, required: true, description: What the pitch is about.}
  sentences: {type: integer, default: 2, min: 1, max: 5}
steps:
  - id: warmup
    skill: test.echo
    with: {text: "Thinking about {{ inputs.topic }}", sleep: 1.5}
  - id: angle
    skill: text.generate
    needs: [warmup]
    candidates: 2
    select: user
    with: {prompt: "Suggest one angle for a pitch about {{ inputs.topic }}.", max_tokens: 60}
  - id: pitch
    skill: test.echo
    needs: [angle]
    with: {text: "PITCH · {{ steps.angle.output.text }} · FEEDBACK: {{ steps.angle.feedback }}"}
"""


def test_a_run_started_from_the_generated_form_is_followed_live_and_steered(page, studio_url, sign_up):
    sign_up("Ida Lovelace", "ida@example.com")

    # Upload the workflow on the catalog page; it opens its run form.
    page.get_by_role("link", name="Workflows").click()
    page.get_by_label("Workflow YAML").fill(PITCH)
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{studio_url}/workflows/pitch/run")

    # Bad input first: the error appears beside its field and no run starts.
    page.get_by_label("Sentences").fill("9")
    page.get_by_role("button", name="Start the run").click()
    assert page.locator("#input_topic-errors").inner_text() == "Missing data for required input."
    assert page.locator("#input_sentences-errors").inner_text() == "Must be at most 5."

    page.get_by_label("Topic").fill("tidal power")
    page.get_by_label("Sentences").fill("3")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/runs/[0-9a-f-]{{36}}$"))
    run_url = page.url

    # The page was loaded while the warm-up step worked; it must reach the candidates by
    # itself, through the event stream, without reloading (the marker would not survive one).
    page.evaluate("window.__sameDocument = true")
    candidates = page.locator("article.candidate")
    candidates.first.wait_for(timeout=20_000)
    assert page.evaluate("window.__sameDocument === true")
    assert candidates.count() == 2
    assert page.locator("#step-angle").get_attribute("data-status") == "awaiting_selection"
    assert page.locator("[data-live=summary] .status").inner_text() == "paused"
    assert candidates.first.locator(".badge-offline").inner_text().startswith("offline output")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Pick the second candidate with feedback.
    second = candidates.nth(1)
    chosen = second.locator(".candidate-output").inner_text().strip()
    second.get_by_label("Feedback for the next steps (optional)").fill("Lead with the cost per household.")
    second.get_by_role("button", name="Use candidate 2").click()
    page.wait_for_url(run_url)
    assert "Candidate 2 of angle is chosen" in page.get_by_role("status").first.inner_text()

    # The rest runs on the worker; the page follows it to the end.
    page.locator("[data-live=summary] .status[data-status=completed]").wait_for(timeout=20_000)
    # When the stream ends the page reloads once, to show the outputs; the last one is open.
    page.locator("section[aria-labelledby=outputs-title] details[open]").wait_for(timeout=10_000)
    outputs = page.locator("section[aria-labelledby=outputs-title]").inner_text()
    assert "FEEDBACK: Lead with the cost per household." in outputs
    assert chosen[:40] in outputs
    assert page.get_by_role("button", name="Cancel run").count() == 0

    # The dashboard lists it, completed, with a link back.
    # Go, rather than click the link: the run page reloads itself once its stream ends, and
    # that reload can land after a click and bring the run page back.
    page.goto(f"{studio_url}/")
    row = page.locator("table.runs tbody tr").first
    assert "pitch" in row.inner_text()
    assert row.locator(".status").inner_text() == "completed"


FRAGILE = """\
name: fragile
version: "1"
description: A first step that fails, and three that depend on it.
steps:
  - id: gather
    skill: test.echo
    with: {text: "notes", fail_until_attempt: 99}
  - id: draft
    skill: test.echo
    with: {text: "{{ steps.gather.output.text }}"}
  - id: title
    skill: test.echo
    with: {text: "Title of {{ steps.draft.output.text }}"}
  - id: blurb
    skill: test.echo
    with: {text: "Blurb of {{ steps.draft.output.text }}"}
"""


def test_a_failed_run_reads_failed_from_360_to_1920_px_and_offers_retry(page, studio_url, sign_up):
    sign_up("Ida Lovelace", "ida@example.com")
    page.get_by_role("link", name="Workflows").click()
    page.get_by_label("Workflow YAML").fill(FRAGILE)
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{studio_url}/workflows/fragile/run")
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/runs/[0-9a-f-]{{36}}$"))
    run_url = page.url

    # The page follows the run to its failure: never "4 of 4 steps done" with a full bar.
    summary = page.locator("[data-live=summary]")
    summary.locator(".status[data-status=failed]").wait_for(timeout=20_000)
    # When its stream ends the page reloads itself once; measure the page that reload brings
    # (rendered finished), not the one it is about to replace.
    page.locator("[data-events-url][data-finished=true]").wait_for(timeout=10_000)
    assert "failed: 1 failed, 3 skipped" in summary.inner_text()
    assert "steps done" not in summary.inner_text()
    bar = summary.locator("progress.run-bar-failed")
    assert bar.get_attribute("value") == "0"
    step_error = page.locator("#step-gather .step-error").inner_text()
    assert step_error.startswith("TRANSIENT_FAILURE") and "TransientFailure" not in step_error

    for width in (360, 768, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
        assert page.get_by_role("button", name="Retry").is_visible()
    page.set_viewport_size({"width": 360, "height": 900})
    page.screenshot(path="/tmp/e2e-failed-run-360.png", full_page=True)

    # Retry runs it again in place (this step fails on every attempt, so it fails again).
    page.get_by_role("button", name="Retry").click()
    page.wait_for_url(run_url)
    assert "The run is retried" in page.get_by_role("status").first.inner_text()
    summary.locator(".status[data-status=failed]").wait_for(timeout=20_000)
    page.locator("[data-events-url][data-finished=true]").wait_for(timeout=10_000)

    # Go, rather than click the link: the run page reloads itself once its stream ends, and
    # that reload can land after a click and bring the run page back.
    page.goto(f"{studio_url}/")
    row = page.locator("table.runs tbody tr").first
    assert "failed: 1 failed, 3 skipped" in row.inner_text()
