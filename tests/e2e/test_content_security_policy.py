"""The studio's pages work under its Content-Security-Policy (app/security_headers.py), in a
real browser: their scripts run, and Chromium reports nothing the policy refused.

Runs the real ``flask inkwright studio`` process with the first-party plugins and Debian's
headless Chromium: sign-in and registration, a story while it is written and once written,
an article's page and its live run page, the style primers, and the API docs.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

UUID = "[0-9a-f-]{36}"


@pytest.fixture
def refused(page) -> list[str]:
    """What the browser said about the policy: console messages and violation events."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    return messages


def policy_messages(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or m.startswith("page error")]


def test_pages_run_their_scripts_under_the_policy(page, studio_url, sign_up, refused):
    page.goto(f"{studio_url}/login")
    assert "script-src 'self'" in page.evaluate("fetch('/login').then(r => r.headers.get('content-security-policy'))")
    sign_up("Octavia Butler", "octavia@example.com")

    # A story: its page follows the generation with static/story.js and reloads once written,
    # which it could not do were the script refused.
    page.goto(f"{studio_url}/stories/new")
    page.get_by_label("What should the story be about?").fill("A seed bank keeps a secret.")
    page.get_by_label("Chapters").fill("2")
    page.get_by_label("Words per chapter").fill("80")
    page.get_by_role("button", name="Generate the story").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/stories/{UUID}$"))
    page.wait_for_selector('article.story[data-status="completed"]', timeout=60_000)

    # An article: its page (the history tree) and its run page, live while it awaits a choice.
    page.goto(f"{studio_url}/articles/new")
    page.get_by_label("Topic").fill("Why hostile input needs a policy")
    page.get_by_label("Model for the draft").fill("offline:writer")
    page.get_by_role("button", name="Start the article").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/articles/{UUID}$"))
    assert page.locator("ul.tree li.depth-0").count() == 1
    page.get_by_role("link", name=re.compile("Open the run")).click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/runs/{UUID}$"))
    page.locator("#choose-angles article.candidate").nth(1).wait_for(timeout=30_000)

    page.goto(f"{studio_url}/style-primers")
    page.goto(f"{studio_url}/api-keys")

    # The API docs: Swagger UI is started by static/api_docs.js and renders the document.
    page.goto(f"{studio_url}/api/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
    assert "Inkwright" in page.locator(".swagger-ui .info .title").inner_text()

    assert policy_messages(refused) == []
