"""A reload after any form action repeats nothing (issue 13): every form a person submits is
answered with a redirect, so the page a reload fetches again is a GET, and the rows the action
made are not made twice. A real studio and Debian's headless Chromium."""

from __future__ import annotations

import re
from typing import Callable

import pytest

pytestmark = pytest.mark.browser
PlaywrightError = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").Error

ECHO = 'name: reloads\nversion: "1"\ninputs:\n  text: {type: string, default: hello}\n' \
       'steps:\n  - id: say\n    skill: test.echo\n    with: {text: "{{ inputs.text }}"}\n'


def act(page, click: Callable[[], None], where: str) -> None:
    """Do a form action; its POST must be answered with a redirect, and a reload of the page
    that redirect leads to must send no POST."""
    with page.expect_response(lambda response: response.request.method == "POST") as answered:
        click()
    assert answered.value.status in (302, 303), f"{where}: the POST was answered {answered.value.status}"
    page.wait_for_load_state()
    posts: list[str] = []

    def note(request) -> None:
        if request.method == "POST":
            posts.append(request.url)
    page.on("request", note)
    page.reload()
    page.wait_for_load_state()
    page.remove_listener("request", note)
    assert posts == [], f"{where}: the reload sent {posts}"


def go(page, url: str) -> None:
    """Go to ``url`` from a page that may reload itself (a run page does once its stream ends):
    that reload can abort the navigation, which is then made again."""
    try:
        page.goto(url)
    except PlaywrightError as error:
        if "ERR_ABORTED" not in str(error):
            raise
        page.goto(url)


def rows(page, selector: str) -> int:
    return page.locator(selector).count()


def test_a_reload_after_every_form_action_sends_nothing_again(page, studio_url, sign_up):
    page.goto(f"{studio_url}/register")
    page.get_by_label("Name").fill("Reload Tester")
    page.get_by_label("Email").fill("reload@example.com")
    page.get_by_label("Password", exact=True).fill("a long enough password")
    page.get_by_label("Repeat the password").fill("a long enough password")
    act(page, lambda: page.get_by_role("button", name="Create account").click(), "register")
    assert page.url == f"{studio_url}/"

    # An API key: one key, its secret shown once.
    page.goto(f"{studio_url}/api-keys")
    page.get_by_label("Name").fill("reloads")
    act(page, lambda: page.get_by_role("button", name="Create key").click(), "API key")
    assert rows(page, "#api-keys tbody tr") == 1 and page.locator("#new-api-key").count() == 0

    # A style primer made, edited, and (at the end) deleted.
    page.goto(f"{studio_url}/style-primers")
    primers = rows(page, "tbody tr")
    page.get_by_label("Id", exact=True).fill("reload-primer")
    page.get_by_label("Name", exact=True).fill("Reload primer")
    page.get_by_label("Style guide").fill("Short sentences.")
    act(page, lambda: page.get_by_role("button", name="Save the primer").click(), "primer")
    assert rows(page, "tbody tr") == primers + 1  # made once
    page.goto(f"{studio_url}/style-primers/reload-primer/edit")
    page.get_by_label("Name", exact=True).fill("Reload primer, edited")
    act(page, lambda: page.get_by_role("button", name="Save the primer").click(), "primer edit")
    assert rows(page, "tbody tr") == primers + 1 and page.get_by_text("Reload primer, edited").count() == 1

    # A workflow uploaded, then run from its form.
    page.goto(f"{studio_url}/workflows")
    page.get_by_label("Workflow YAML").fill(ECHO)
    act(page, lambda: page.get_by_role("button", name="Upload").click(), "workflow upload")
    assert page.url == f"{studio_url}/workflows/reloads/run"  # the upload leads to its run form
    page.goto(f"{studio_url}/workflows")
    assert rows(page, "#workflow-reloads") == 1
    page.goto(f"{studio_url}/workflows/reloads/run")
    act(page, lambda: page.get_by_role("button", name="Start the run").click(), "workflow run")
    assert re.search(r"/runs/[0-9a-f-]{36}$", page.url)
    page.locator('[data-status="completed"]').first.wait_for(timeout=30_000)
    go(page, f"{studio_url}/")
    assert page.locator("table.runs tbody tr", has_text="reloads").count() == 1  # one run, not two

    # An article: started, a candidate chosen on its page, more candidates asked for, one
    # chosen with feedback, then the run cancelled.
    page.goto(f"{studio_url}/articles/new")
    page.get_by_label("Topic").fill("Reloading pages")
    act(page, lambda: page.get_by_role("button", name="Start the article").click(), "article")
    article_url = page.url
    page.locator("#choose-angles").wait_for(timeout=30_000)
    act(page, lambda: page.locator("#choose-angles").get_by_role("button", name="Use candidate 1").click(),
        "choosing on the article page")
    assert page.url == article_url
    outline = page.locator("#choose-outline")
    outline.wait_for(timeout=30_000)
    candidates = outline.locator("article.candidate").count()
    act(page, lambda: outline.get_by_role("button", name="Regenerate: more candidates").click(), "regenerate")
    outline.locator("article.candidate").nth(candidates).wait_for(timeout=30_000)
    outline = page.locator("#choose-outline")
    outline.get_by_label("Feedback for the next steps (optional)").first.fill("Fewer sections")
    act(page, lambda: outline.get_by_role("button", name="Use candidate 1").click(), "choosing with feedback")
    page.locator("#choose-draft").wait_for(timeout=30_000)  # the outline was chosen once; the draft waits
    assert page.locator("#choose-outline").count() == 0
    run_path = page.locator('a[href^="/runs/"]').first.get_attribute("href")
    go(page, studio_url + run_path)
    act(page, lambda: page.get_by_role("button", name="Cancel run").click(), "cancel")
    assert page.locator('[data-status="cancelled"]').count() >= 1

    # A story: generated, then deleted.
    page.goto(f"{studio_url}/stories/new")
    page.get_by_label("What should the story be about?").fill("A lighthouse keeper who reloads")
    page.get_by_label("Chapters").fill("1")
    page.get_by_label("Words per chapter").fill("60")
    act(page, lambda: page.get_by_role("button", name="Generate the story").click(), "story")
    page.wait_for_selector('article.story[data-status="completed"]', timeout=60_000)
    act(page, lambda: page.get_by_role("button", name="Delete the story").click(), "story delete")

    page.goto(f"{studio_url}/style-primers")
    mine = page.locator("tbody tr", has_text="reload-primer")
    act(page, lambda: mine.get_by_role("button", name="Delete").click(), "primer delete")
    assert page.locator("tbody tr", has_text="reload-primer").count() == 0

    act(page, lambda: page.get_by_role("button", name="Sign out").click(), "sign out")
    assert page.url == f"{studio_url}/login"
