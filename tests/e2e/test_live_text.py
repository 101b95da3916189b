"""Text as it is written, in a real browser (issue 12): a story's chapter appears on its run
page while the model writes it, and a reload mid-chapter shows everything written so far.

The offline model writes at a pace here (``OFFLINE_STREAM_DELAY``): a few words every 50 ms,
as a real model's stream arrives. Runs the real ``flask inkwright studio`` and Debian's
headless Chromium.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/e2e-live-text.png"
#: The text written so far of the first chapter (its parts: the chapter, then continuations).
SHOWN = "() => [...document.querySelectorAll('[data-writing^=\"chapter\"] .writing-text')]" \
        ".map(t => t.textContent).join('\\n')"
#: Whether that part is still being written (its end not yet streamed).
WRITING = "() => { const s = document.querySelector('[data-writing^=\"chapter\"] .writing-state'); " \
          "return !!s && s.textContent.includes('writing'); }"


@pytest.fixture
def studio_settings() -> dict[str, str]:
    return {"INKWRIGHT_OFFLINE_STREAM_DELAY": "0.05"}


def test_a_chapter_appears_on_the_run_page_while_it_is_written(page, studio_url, sign_up):
    sign_up("Octavia Butler", "octavia@example.com")

    page.goto(f"{studio_url}/stories/new")
    page.get_by_label("What should the story be about?").fill("A seed bank keeper wakes up alone.")
    page.get_by_label("Chapters").fill("1")
    page.get_by_label("Words per chapter").fill("800")
    page.get_by_role("button", name="Generate the story").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/stories/[0-9a-f-]{{36}}$"))
    story_url = page.url

    # The story page shows the chapter as it is written, too.
    page.wait_for_function(f"() => ({SHOWN})().length > 40", timeout=30_000)
    assert page.locator("article.story").get_attribute("data-status") == "generating"
    page.get_by_role("link", name="Watch every step of the run").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/runs/[0-9a-f-]{{36}}$"))

    # Some of the chapter is on the page while the rest is still being written.
    page.wait_for_function(f"() => ({SHOWN})().length > 40 && ({WRITING})()", timeout=30_000)
    first_look = page.evaluate(SHOWN)
    assert page.locator("#writing").is_visible()
    page.wait_for_function(f"() => ({SHOWN})().length > {len(first_look)}", timeout=10_000)
    assert page.evaluate(SHOWN).startswith(first_look)  # it grows at its end, in order

    # A reload mid-chapter replays the stream: what was written so far is back at once.
    before_reload = page.evaluate(SHOWN)
    page.reload()
    page.wait_for_function(f"() => ({SHOWN})().length >= {len(before_reload)}", timeout=10_000)
    assert page.evaluate(SHOWN).startswith(before_reload)
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=SCREENSHOT, full_page=True)
    width = page.evaluate("() => document.querySelector('#writing').getBoundingClientRect().width")
    assert width <= 360  # the writing area fits a phone's width

    # The chapter the reader shows in the end is the text that was streamed.
    page.goto(story_url)
    page.wait_for_selector('article.story[data-status="completed"]', timeout=90_000)
    chapter = page.locator("section.chapter").first.inner_text()
    assert " ".join(before_reload.split()[:12]) in " ".join(chapter.split())


def test_an_articles_candidates_appear_on_its_page_while_they_are_written(page, studio_url, sign_up):
    sign_up("Ida Tarbell", "ida@example.com")
    page.goto(f"{studio_url}/articles/new")
    page.get_by_label("Topic").fill("How lighthouses were automated")
    page.get_by_role("button", name="Start the article").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/articles/[0-9a-f-]{{36}}$"))

    # Both candidates of the first step, growing on the article page itself.
    page.wait_for_function("() => document.querySelectorAll('[data-writing^=\"angles\"] .writing-text').length == 2"
                           " && [...document.querySelectorAll('[data-writing^=\"angles\"] .writing-text')]"
                           ".every(t => t.textContent.length > 20)", timeout=30_000)
    assert page.locator("#writing").is_visible()
    # When the step waits for a choice the page reloads once, to show the table and choices.
    page.wait_for_function("() => !document.querySelector('#writing')", timeout=60_000)
    assert "angles" in page.locator("table").first.inner_text()
