"""DraftForge in a real browser: sign up → create a project → write two chapters → run the
style agent (the studio's own worker runs it) → filter its report by severity → follow an
issue to its line → see the stats chart → link the project to GitHub (its secret shown once); no
page scrolls sideways at 360, 1,280 or 1,920 px.

The real ``flask inkwright studio`` (web and one worker) with the DraftForge plugin installed,
and Debian's headless Chromium; here rather than in the plugin's tests because the studio and
browser fixtures are this folder's conftest's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.axe import axe_script, violations

pytestmark = pytest.mark.browser

CHAPTERS = (
    ("Arrival", "She arrived at the harbour very slowly and extremely quietly, really carefully and truly late.\n\n"
                "The boat was tied by the keeper. The rope was pulled by the boy. The lamp was lit by the keeper.\n"),
    ("The Letter", "The letter was quickly opened. " + "A very long sentence goes on and on " * 12 + "to the end.\n\n"
                   "The harbour was quiet; the harbour was dark; the harbour was cold and the harbour slept.\n"),
)


#: Where a screenshot of each page at each width goes, when set (as test_page_widths.py keeps them).
SCREENSHOTS = os.environ.get("INKWRIGHT_SCREENSHOT_DIR")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.timeout(240)
def test_write_two_chapters_review_their_style_and_follow_an_issue_to_its_line(page, studio_url, sign_up):
    sign_up("Agatha Christie", "agatha@example.com")
    page.get_by_role("link", name="Projects").click()
    page.wait_for_url(f"{studio_url}/draftforge/")

    page.get_by_role("link", name="New project").click()
    page.get_by_role("button", name="Create the project").click()
    assert "Give the project a name." in page.locator("#name-errors").inner_text()
    page.get_by_label("Name").fill("The Harbour Murders")
    page.get_by_label("Slug").fill("harbour-murders")
    page.get_by_label("Type").select_option("novel")
    page.get_by_label("Genre").fill("mystery")
    page.get_by_label("Target words").fill("60000")
    page.get_by_role("button", name="Create the project").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/draftforge/[0-9a-f-]{{36}}$"))
    project = page.url
    assert f"{studio_url}/git/" in page.locator("#clone-command").inner_text()

    for title, text in CHAPTERS:
        page.goto(project)
        page.get_by_role("link", name="New chapter").click()
        page.get_by_label("Title").fill(title)
        page.get_by_label("Text").fill(text)
        page.get_by_role("button", name="Add the chapter").click()
        page.wait_for_url(re.compile(r".*/files/chapters/\d\d-[a-z-]+\.md$"))
        assert page.locator("#L3").count() == 1
    page.goto(project)
    assert page.locator("ol.df-chapters li").count() == 2

    page.get_by_role("link", name="Agent runs").click()
    page.get_by_label("Agent").select_option("style")
    page.get_by_role("button", name="Run the agent").click()
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]{36}$"))
    report = page.url
    # The report refreshes itself (no script) until the worker is done.
    page.wait_for_selector('[data-status="completed"]', timeout=90_000)
    assert page.locator("#run-summary").inner_text()
    issues = page.locator("li.df-issue")
    total = issues.count()
    assert total > 0, page.content()

    counts = {name: int(page.locator(f"#count-{name}").inner_text()) for name in ("error", "warning", "info")}
    chosen = max(counts, key=counts.get)
    page.locator(f'.df-filter a[data-severity="{chosen}"]').click()
    page.wait_for_url(f"{report}?severity={chosen}")
    shown = page.locator("li.df-issue")
    assert shown.count() == counts[chosen]
    assert {shown.nth(i).get_attribute("data-severity") for i in range(shown.count())} == {chosen}

    link = page.locator("a.df-issue-line").first
    line = re.search(r"#L(\d+)$", link.get_attribute("href")).group(1)
    link.click()
    page.wait_for_url(re.compile(rf".*/files/chapters/.+\?ref=[0-9a-f]{{40}}#L{line}$"))
    assert page.evaluate("location.hash") == f"#L{line}"
    assert page.locator(f"#L{line}").count() == 1
    assert page.evaluate(f"document.querySelector('#L{line}').matches(':target')")

    page.goto(project)
    page.get_by_role("link", name="Stats", exact=True).click()
    assert page.locator(".df-chart svg").count() == 1
    assert page.locator(".df-chart svg").bounding_box()["width"] > 200

    # Link the project to GitHub: the webhook's secret is shown once, beside a Copy button.
    page.goto(f"{project}/settings")
    page.get_by_role("button", name="Link and make a secret").click()
    assert "Name the repository as owner/name." in page.locator("#repo_name-errors").inner_text()
    page.get_by_label("Repository", exact=True).fill("agatha/harbour-murders")
    page.get_by_label("Repository id").fill("424242")
    page.get_by_role("button", name="Link and make a secret").click()
    page.wait_for_url(f"{project}/settings#github")
    assert len(page.locator("#github-secret").inner_text().strip()) >= 40
    assert page.locator("#github-webhook-url").inner_text().endswith("/api/draftforge/github/webhook")
    page.reload()
    assert page.locator("#github-secret").count() == 0 and "agatha/harbour-murders" in page.locator("#github").inner_text()

    pages = {"project": project, "stats": f"{project}/stats", "report": report,
             "report-filtered": f"{report}?severity={chosen}", "history": f"{project}/history",
             "settings": f"{project}/settings", "runs": f"{project}/runs", "new-chapter": f"{project}/chapters/new",
             "projects": f"{studio_url}/draftforge/", "new-project": f"{studio_url}/draftforge/new"}
    # The second chapter's long line wraps in the chapter view and its editor; and a commit's diff.
    page.goto(project)
    chapter = studio_url + page.locator("ol.df-chapters a").nth(1).get_attribute("href")
    pages |= {"chapter": chapter, "edit-chapter": chapter.replace("/files/", "/edit/")}
    page.goto(f"{project}/history")
    pages["commit"] = studio_url + page.locator("ol.df-commits a").first.get_attribute("href")
    axe = axe_script()  # None where npm cannot fetch it: the widths are checked all the same
    wide, inaccessible = [], []
    for width in (360, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 800})
        for name, url in pages.items():
            page.goto(url)
            page.wait_for_load_state("load")
            if SCREENSHOTS:
                Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(SCREENSHOTS) / f"draftforge-{name}-{width}.png"), full_page=True)
            if not no_sideways_scroll(page):
                wide.append(f"{name} ({url}) at {width} px")
            if axe is not None and width < 1920:  # axe at a phone's width and a laptop's
                inaccessible += [f"{name} at {width} px: {found}" for found in violations(page, axe)]
    assert not wide, wide
    assert not inaccessible, "\n".join(inaccessible)
