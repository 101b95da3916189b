"""Issue 16 in a real browser: a written story's Export button → the export's page follows
the job on the studio's own worker to ``completed`` → the file downloads; the export pages
fit a phone and a wide screen.

Runs the real ``flask inkwright studio`` process (web and one worker) with the first-party
plugins installed, and Debian's headless Chromium; the offline model writes the story.
"""

from __future__ import annotations

import re
import zipfile

import pytest

pytestmark = pytest.mark.browser


def sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.timeout(180)
def test_export_a_story_from_its_page_and_download_the_epub(page, studio_url, sign_up, tmp_path):
    sign_up("Mary Shelley", "mary@example.com")
    page.goto(f"{studio_url}/stories/new")
    page.get_by_label("What should the story be about?").fill("A lighthouse keeper finds a message in a bottle.")
    page.get_by_label("Chapters").fill("2")
    page.get_by_label("Words per chapter").fill("120")
    page.get_by_role("button", name="Generate the story").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/stories/[0-9a-f-]{{36}}$"))
    story = page.url
    page.wait_for_selector('article.story[data-status="completed"]', timeout=60_000)
    page.goto(story)  # the page as the server renders a finished story, with its Export button

    page.get_by_label("Format").select_option("epub")
    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/exports/[0-9a-f-]{{36}}$"))
    export_page = page.url
    # Queued, then processing, then completed: the page refreshes itself until the worker is done.
    page.locator('#export-status [data-status="completed"]').wait_for(timeout=60_000)
    assert "rendered epub" in page.locator("#export-log").inner_text()
    download_link = page.locator("#export-download")
    assert re.fullmatch(r"/api/exports/[0-9a-f-]{36}/download", download_link.get_attribute("href"))

    with page.expect_download() as started:
        download_link.click()
    download = started.value
    assert re.fullmatch(r"[a-z0-9-]+-[0-9a-f]{7}\.epub", download.suggested_filename), download.suggested_filename
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    names = zipfile.ZipFile(saved).namelist()
    assert "EPUB/chapter-001.xhtml" in names and "EPUB/chapter-002.xhtml" in names

    page.goto(f"{studio_url}/exports")
    assert page.locator('#exports [data-status="completed"]').count() == 1
    for width in (360, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        for path in (export_page, f"{studio_url}/exports", story):
            page.goto(path)
            assert sideways_overflow(page) <= 0, f"{path} scrolls sideways at {width} px"
    page.screenshot(path="/tmp/e2e-export.png", full_page=True)
