"""Script and markup typed into every field a person can type stay inert on every page and in
every export (issue 13). A real studio and Debian's headless Chromium: a dialog that opens,
or an element the payload would build, fails the test."""

from __future__ import annotations

import re

import requests

PAYLOADS = ['<script>alert("s")</script>', '<img src=x onerror=alert("i")>', '"><svg onload=alert("v")>',
            "javascript:alert('j')", "<a href=javascript:alert('a')>link</a>"]
ONE_LINE = " ".join(PAYLOADS)
#: What a payload would build if it were taken for markup.
BUILT = "img[src='x'], svg[onload], a[href^='javascript'], script:not([src])"


def assert_inert(page, where: str, dialogs: list[str]) -> None:
    assert dialogs == [], f"{where}: a dialog opened: {dialogs}"
    built = page.locator(BUILT).count()
    assert built == 0, f"{where}: the payload built {built} element(s)"


def test_payloads_in_every_form_stay_inert_on_the_pages_and_in_the_exports(page, studio_url, sign_up):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_up(ONE_LINE[:200], "hostile@example.com")
    assert_inert(page, "dashboard with a hostile name", dialogs)

    # An API key with a hostile name.
    page.goto(f"{studio_url}/api-keys")
    page.get_by_label("Name").fill(ONE_LINE[:100])
    page.get_by_role("button", name="Create key").click()
    assert_inert(page, "API keys", dialogs)

    # A style primer with hostile text in each field.
    page.goto(f"{studio_url}/style-primers")
    page.get_by_label("Id", exact=True).fill("hostile-primer")
    page.get_by_label("Name", exact=True).fill(ONE_LINE[:200])
    page.get_by_label("Description", exact=True).fill(ONE_LINE)
    page.get_by_label("Style guide").fill("\n".join(PAYLOADS))
    page.get_by_label("Avoid", exact=True).fill("\n".join(PAYLOADS))
    page.get_by_role("button", name="Save the primer").click()
    assert_inert(page, "style primers", dialogs)
    page.goto(f"{studio_url}/style-primers/hostile-primer/edit")
    assert_inert(page, "the primer's edit page", dialogs)

    # A workflow whose description and input default are hostile.
    page.goto(f"{studio_url}/workflows")
    page.get_by_label("Workflow YAML").fill(
        'name: hostile\nversion: "1"\ndescription: ' + repr(ONE_LINE) + '\n'
        'inputs:\n  topic: {type: string, default: ' + repr(PAYLOADS[1]) + '}\n'
        'steps:\n  - id: say\n    skill: test.echo\n    with: {text: "{{ inputs.topic }}"}\n')
    page.get_by_role("button", name="Upload").click()
    assert_inert(page, "workflows", dialogs)

    # An article about a hostile topic, with hostile feedback on a candidate.
    page.goto(f"{studio_url}/articles/new")
    page.get_by_label("Topic").fill(ONE_LINE)
    page.get_by_label("Audience").fill(PAYLOADS[2])
    page.get_by_label("Style primer").select_option("hostile-primer")
    page.get_by_role("button", name="Start the article").click()
    page.wait_for_url(re.compile(r".*/articles/[0-9a-f-]{36}$"))
    article_url = page.url
    block = page.locator("#choose-angles")
    block.wait_for(timeout=30_000)
    assert_inert(page, "the article page", dialogs)
    block.get_by_label("Feedback for the next steps (optional)").first.fill(ONE_LINE)
    block.get_by_role("button", name="Use candidate 1").click()
    page.wait_for_url(article_url)
    run_path = page.locator('a[href^="/runs/"]').first.get_attribute("href")
    page.goto(studio_url + run_path)
    assert_inert(page, "the run page", dialogs)
    page.goto(f"{studio_url}/")
    assert_inert(page, "the dashboard listing the article", dialogs)

    # A story from hostile instructions and characters.
    page.goto(f"{studio_url}/stories/new")
    page.get_by_label("What should the story be about?").fill(ONE_LINE)
    page.get_by_label("Chapters").fill("1")
    page.get_by_label("Words per chapter").fill("60")
    page.get_by_label("Main characters").fill(PAYLOADS[1][:80])
    page.get_by_role("button", name="Generate the story").click()
    page.wait_for_selector('article.story[data-status="completed"]', timeout=60_000)
    assert_inert(page, "the story", dialogs)

    # The exports carry the run's text as text: the YAML export holds the topic and feedback.
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    yaml_export = requests.get(f"{article_url}/export.yaml", cookies=cookies, timeout=10)
    assert yaml_export.status_code == 200 and yaml_export.headers["Content-Type"].startswith("application/yaml")
    assert yaml_export.headers.get("X-Content-Type-Options") == "nosniff"  # never sniffed as a page
    # The topic is there as data, its angle brackets in YAML's own escapes: no tag in the file.
    assert "onerror" in yaml_export.text and "<" not in yaml_export.text
