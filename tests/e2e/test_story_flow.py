"""Seed 000 in a real browser: register → ask for a three-chapter story → watch it → read it.

Runs the real ``flask inkwright studio`` process (web and one worker) with the stories plugin
installed, and Debian's headless Chromium; no API key anywhere (the offline model writes).
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/e2e-story.png"


def test_generate_a_three_chapter_story_and_read_it(page, studio_url, sign_up):
    sign_up("Ursula Le Guin", "ursula@example.com")

    page.goto(f"{studio_url}/stories/new")
    page.get_by_label("Chapters").fill("0")
    page.get_by_role("button", name="Generate the story").click()
    assert "Between 1 and 20 chapters." in page.locator("#n_chapters-errors").inner_text()
    assert "Tell us what the story is about." in page.locator("#story_instructions-errors").inner_text()

    page.get_by_label("What should the story be about?").fill(
        "A cartographer maps an island that changes shape every night.")
    page.get_by_label("Chapters").fill("3")
    page.get_by_label("Words per chapter").fill("150")
    page.get_by_label("Main characters").fill("Ged, Tenar")
    page.get_by_role("button", name="Generate the story").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/stories/[0-9a-f-]{{36}}$"))

    # The page follows the run and shows the story once it is written (it may already be).
    story = page.locator("article.story")
    assert story.get_attribute("data-status") in ("generating", "completed")
    page.wait_for_selector('article.story[data-status="completed"]', timeout=60_000)

    # Contents, chapter 1 here, and the next chapters a page each, read with "next".
    assert page.locator("nav.toc li").count() == 3
    headings = [page.locator("section.chapter h2").inner_text()]
    assert all(len(p.split()) > 5 for p in page.locator("section.chapter .chapter-text p").all_inner_texts())
    reader = page.url
    page.locator('a[rel="next"]').click()
    headings.append(page.get_by_role("heading", level=1).inner_text())
    page.locator('a[rel="next"]').click()
    headings.append(page.get_by_role("heading", level=1).inner_text())
    assert page.locator('a[rel="next"]').count() == 0 and page.locator('a[rel="prev"]').count() == 1
    assert [h.split(":")[0] for h in headings] == ["Chapter 1", "Chapter 2", "Chapter 3"], headings
    page.goto(reader)
    assert "Ged, Tenar" in page.locator(".story-metadata").inner_text()
    assert "min" in page.locator("#reading-time").inner_text()
    assert page.locator(".badge-offline").count() >= 1  # the offline provider wrote it, and it says so
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.goto(f"{studio_url}/stories/")
    assert page.locator('[data-status="completed"]').count() == 1
