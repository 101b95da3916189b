"""Seed 001 in a real browser: register → start an article → choose a candidate with
feedback at each step on the run page → branch from the outline → finish → export.

Runs the real ``flask inkwright studio`` process (web and one worker) with the WriteIt
plugin installed, and Debian's headless Chromium; no API key (the offline models write).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/e2e-article.png"
RUN_URL = r"/runs/[0-9a-f-]{36}$"


def choose(page, step: str, number: int, feedback: str) -> str:
    """On the run page: wait for the step's candidates, pick one with feedback; return its text."""
    block = page.locator(f"#choose-{step}")
    block.locator("article.candidate").nth(1).wait_for(timeout=30_000)
    candidates = block.locator("article.candidate")
    assert candidates.count() == 2
    models = [candidates.nth(i).locator("h3").inner_text() for i in range(2)]
    assert any("offline:writer" in m for m in models) and any("offline:fast" in m for m in models), models
    candidate = candidates.nth(number - 1)
    text = candidate.locator(".candidate-output").inner_text().strip()
    if feedback:
        candidate.get_by_label("Feedback for the next steps (optional)").fill(feedback)
    run_url = page.url
    candidate.get_by_role("button", name=f"Use candidate {number}").click()
    page.wait_for_url(run_url)
    return text


def open_when_finished(page, article_url: str, timeout: float = 30.0) -> None:
    """Reload the article page until its text is there (a worker writes it after the run ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(article_url)
        if page.locator("#text-heading").count():
            return
        time.sleep(0.5)
    pytest.fail(f"the article never showed its text:\n{page.locator('main').inner_text()[:2000]}")


def test_write_an_article_choosing_candidates_branching_and_exporting(page, studio_url, sign_up):
    sign_up("Nellie Bly", "nellie@example.com")

    page.get_by_role("link", name="Articles").click()
    page.get_by_role("link", name="New article").click()

    # Bad input: the error is beside its field and nothing starts.
    page.get_by_label("Topic").fill("")
    page.get_by_label("Model for the draft").fill("not a model")
    page.get_by_role("button", name="Start the article").click()
    assert page.locator("#topic-errors").inner_text() == "Say what the article is about."
    assert "provider:model" in page.locator("#draft_model-errors").inner_text()

    page.get_by_label("Topic").fill("Why small teams ship software faster")
    page.get_by_label("Audience").fill("engineering managers")
    page.get_by_label("Style primer").select_option("tech-journalist")
    page.get_by_label("Model for the draft").fill("offline:writer")
    page.get_by_role("button", name="Start the article").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/articles/[0-9a-f-]{{36}}$"))
    article_url = page.url

    # The run page: candidates side by side, select with feedback, step after step.
    page.get_by_role("link", name=re.compile("Open the run")).click()
    page.wait_for_url(re.compile(re.escape(studio_url) + RUN_URL))
    choose(page, "angles", 2, "Lead with the on-call story.")
    choose(page, "outline", 1, "Five sections, short headings.")
    choose(page, "draft", 2, "More numbers, please.")
    polished = choose(page, "polish", 1, "")
    page.locator("[data-live=summary] .status[data-status=completed]").wait_for(timeout=30_000)

    open_when_finished(page, article_url)
    article = page.locator("section[aria-labelledby=text-heading]")
    # It reads as an article (rendered Markdown), with its Markdown source a click away.
    assert article.locator(".rendered-text.article-text h1").count() == 1
    assert article.locator(".rendered-text.article-text h2").count() >= 1
    article.locator(".text-source summary").click()
    text = article.locator(".text-source-body").inner_text()
    assert text.startswith("# ") and "\n## " in text
    assert polished.splitlines()[0][:30].strip("# ") in text or "##" in text
    assert page.locator("section[aria-labelledby=text-heading] .badge-offline").count() == 1

    # Branch from the outline with a new audience: angles are kept, the outline runs again.
    page.get_by_label("Branch from step").select_option("outline")
    page.get_by_label("New audience (optional)").fill("CTOs")
    page.get_by_role("button", name="Branch", exact=True).click()
    page.wait_for_url(re.compile(re.escape(studio_url) + RUN_URL))
    assert page.locator("#step-angles .badge", has_text="reused").count() == 1
    choose(page, "outline", 2, "Shorter.")
    choose(page, "draft", 1, "")
    choose(page, "polish", 2, "Ship it.")
    page.locator("[data-live=summary] .status[data-status=completed]").wait_for(timeout=30_000)

    # The article follows the branch; its history is a tree of two runs.
    open_when_finished(page, article_url)
    history = page.locator("section[aria-labelledby=history-heading]")
    assert history.locator("li").count() == 2
    assert "Branch from outline" in history.locator("li").nth(1).inner_text()
    assert "(current)" in history.locator("li").nth(1).inner_text()
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Export: view the Markdown, and download the YAML.
    page.get_by_role("link", name="View Markdown").click()
    markdown = page.locator("body").inner_text()
    assert markdown.startswith("# ") and "\n## " in markdown
    page.goto(article_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download YAML").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".yaml")
    content = Path(download.path()).read_text(encoding="utf-8")
    assert "configuration_id: writeit.article" in content and "branch_point: outline" in content
    assert "user_feedback: Shorter." in content


def test_a_whole_article_chosen_from_the_article_page_alone(page, studio_url, sign_up):
    sign_up("Ida Tarbell", "ida@example.com")
    page.goto(f"{studio_url}/articles/new")
    page.get_by_label("Topic").fill("How lighthouses got their lenses")
    page.get_by_role("button", name="Start the article").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/articles/[0-9a-f-]{{36}}$"))
    article_url = page.url

    for number, step in enumerate(("angles", "outline", "draft", "polish")):
        # The page reloads itself when the step waits for a choice (article.js).
        block = page.locator(f"#choose-{step}")
        block.wait_for(timeout=30_000)
        assert block.locator("article.candidate").count() == 2
        block.locator("details.candidate-diff summary").first.click()
        assert block.locator(".word-diff").first.is_visible()
        candidate = block.locator("article.candidate").nth(number % 2)
        candidate.get_by_label("Feedback for the next steps (optional)").fill(f"Feedback for {step}.")
        candidate.get_by_role("button", name=f"Use candidate {number % 2 + 1}").click()
        page.wait_for_url(article_url)
        assert f"of {step} is chosen" in page.get_by_role("status").first.inner_text()

    open_when_finished(page, article_url)
    assert page.locator(".rendered-text.article-text h1").count() == 1
    assert "/runs/" not in page.url  # never left the article
