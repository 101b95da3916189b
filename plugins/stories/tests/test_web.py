"""The stories' pages: the list, the StoryRequest form with errors beside the fields, the reader."""

from __future__ import annotations

import re

import pytest
from inkwright_stories.models import Story

FORM = {"story_instructions": "A lighthouse keeper finds a message in a bottle.", "n_chapters": "3",
        "l_chapter": "100", "primary_characters": "Mara, Tobias", "secondary_characters": ""}


def post_form(browser, csrf_token, data):
    return browser.post("/stories/new", data={**data, "csrf_token": csrf_token(browser, "/stories/new")})


def error_beside(page: str, field: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field}-errors" role="alert">(.*?)</ul>', page, re.S)
    assert match, f"no errors beside {field}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def test_pages_need_a_signed_in_person(client):
    for path in ("/stories/", "/stories/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_empty_list_points_to_the_form(browser):
    page = browser.get("/stories/").get_data(as_text=True)
    assert "No stories yet" in page and 'href="/stories/new"' in page


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"n_chapters": "0"}, "n_chapters", "Between 1 and 20 chapters."),
    ({"n_chapters": "99"}, "n_chapters", "Between 1 and 20 chapters."),
    ({"n_chapters": "three"}, "n_chapters", "Not a valid integer value."),
    ({"story_instructions": ""}, "story_instructions", "Tell us what the story is about."),
    ({"l_chapter": "10"}, "l_chapter", "Between 50 and 5,000 words."),
    ({"model": "gpt4"}, "model", "Name the model as provider:model"),
    ({"model": "nobody:model"}, "model", "nobody"),
])
def test_bad_requests_come_back_with_the_error_beside_the_field(browser, csrf_token, row_count, change, field,
                                                                message):
    response = post_form(browser, csrf_token, {**FORM, **change})
    assert response.status_code in (400, 422)
    page = response.get_data(as_text=True)
    assert message in error_beside(page, field)
    assert 'aria-invalid="true"' in page
    assert row_count(Story) == 0


def test_a_post_without_its_csrf_token_is_refused(browser, row_count):
    response = browser.post("/stories/new", data=FORM)
    assert response.status_code == 400 and row_count(Story) == 0


def test_generating_from_the_form_leads_to_the_reader(browser, csrf_token, run_jobs):
    response = post_form(browser, csrf_token, FORM)
    assert response.status_code == 302
    reader = response.headers["Location"]
    assert re.fullmatch(r"/stories/[0-9a-f-]{36}", reader)

    waiting = browser.get(reader).get_data(as_text=True)
    assert "<progress" in waiting and "Writing…" in waiting and "Cancel generation" in waiting
    assert 'data-status-url="/api/workflows/' in waiting

    run_jobs()
    page = browser.get(reader).get_data(as_text=True)
    # Contents, the first chapter here, each chapter a page of its own with previous and next.
    contents = re.findall(rf'<a href="{reader}/chapters/(\d)">', page)
    assert contents == ["1", "2", "3"]
    assert re.findall(r"<h2>Chapter (\d): ([^<]+)</h2>", page)[0][0] == "1"
    second = browser.get(f"{reader}/chapters/2").get_data(as_text=True)
    assert '<h1>Chapter 2: ' in second and f'rel="prev" href="{reader}/chapters/1"' in second
    assert f'rel="next" href="{reader}/chapters/3"' in second
    assert 'rel="next"' not in browser.get(f"{reader}/chapters/3").get_data(as_text=True)
    assert browser.get(f"{reader}/chapters/9").status_code == 404
    assert "The request that made it" in page and "A lighthouse keeper finds a message in a bottle." in page
    assert "<progress" not in page and "Reading time" in page and "Mara, Tobias" in page
    assert "offline output" in page  # the offline provider wrote it, and the reader says so
    listing = browser.get("/stories/").get_data(as_text=True)
    assert reader in listing and 'data-status="completed"' in listing


def test_cancel_from_the_reader(browser, csrf_token, run_jobs):
    reader = post_form(browser, csrf_token, FORM).headers["Location"]
    token = csrf_token(browser, reader)
    response = browser.post(f"{reader}/cancel", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Generation cancelled." in page and "The generation was cancelled." in page


def test_another_tenants_story_is_not_found(app, browser, make_user, login_api):
    other = login_api(make_user())
    story = other.post("/api/stories", json={"title": "Not yours"}).json["data"]
    assert browser.get(f"/stories/{story['id']}").status_code == 404
    assert browser.get("/stories/not-a-uuid").status_code == 404
    assert "Not yours" not in browser.get("/stories/").get_data(as_text=True)


def test_a_story_whose_models_nobody_serves_is_refused_at_submit_and_nothing_is_written(
        browser, csrf_token, row_count, uninstalled_provider):
    from app.toolkit import Run

    token = csrf_token(browser, "/stories/new")
    with uninstalled_provider("offline"):
        response = browser.post("/stories/new", data={**FORM, "csrf_token": token})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "offline:writer" in page and "No model provider named" in page
    assert row_count(Story) == 0 and row_count(Run) == 0


def test_a_failed_story_shows_the_reason_as_code_and_message_and_links_its_run(browser, csrf_token, run_jobs,
                                                                              uninstalled_provider):
    reader = post_form(browser, csrf_token, FORM).headers["Location"]
    with uninstalled_provider("offline"):
        run_jobs()

    page = browser.get(reader).get_data(as_text=True)
    failure = re.search(r'<p class="errors story-failure" role="alert">(.*?)</p>', page, re.S).group(1)
    assert "<code>UNKNOWN_MODEL</code> The outline step failed: No model provider named" in failure
    assert re.search(r'<a href="/runs/[0-9a-f-]{36}">See the run</a>', failure)
    assert "UnknownModelError" not in page
    listing = browser.get("/stories/").get_data(as_text=True)
    assert "<code>UNKNOWN_MODEL</code>" in listing


def test_the_form_offers_the_catalog_and_takes_a_model_per_step(browser, csrf_token, row_count):
    page = browser.get("/stories/new").get_data(as_text=True)
    # Issue 12: the model fields offer the installed providers' models, priced or marked offline.
    assert page.count('list="model-catalog"') == 3
    assert '<option value="offline:writer" label="offline: synthetic text, free">' in page
    assert 'value="openai:gpt-4o-mini" label="$0.00015 in / $0.0006 out per 1K tokens"' in page

    response = post_form(browser, csrf_token, {**FORM, "outline_model": "offline:fast",
                                               "chapter_model": "nobody:model"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "nobody" in error_beside(page, "chapter_model") and 'id="model-errors"' not in page
    assert row_count(Story) == 0


def test_the_dashboard_lists_a_storys_run_by_its_title_and_the_run_page_links_back(browser, csrf_token, run_jobs):
    reader = post_form(browser, csrf_token, FORM).headers["Location"]
    run_jobs()
    title = re.search(r"<h1>([^<]+)</h1>", browser.get(reader).get_data(as_text=True)).group(1).strip()

    dashboard = browser.get("/").get_data(as_text=True)
    assert f'<a href="{reader}">Story: {title}</a>' in dashboard and "· stories" in dashboard
    run_url = re.search(r'href="(/runs/[0-9a-f-]{36})"', browser.get(reader).get_data(as_text=True)).group(1)
    assert f'This run makes <a href="{reader}">Story: {title}</a>' in browser.get(run_url).get_data(as_text=True)


def test_a_story_downloads_as_inert_markdown_and_deletes_from_the_reader(app, browser, csrf_token, run_jobs,
                                                                       row_count):
    reader = post_form(browser, csrf_token, FORM).headers["Location"]
    run_jobs()
    downloaded = browser.get(f"{reader}/export.md")
    assert downloaded.status_code == 200 and downloaded.mimetype == "text/markdown"
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    text = downloaded.get_data(as_text=True)
    assert text.startswith("# ") and text.count("\n## Chapter ") == 3

    deleted = browser.post(f"{reader}/delete", data={"csrf_token": csrf_token(browser, reader)})
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/stories/"
    assert browser.get(reader).status_code == 404
    assert reader not in browser.get("/stories/").get_data(as_text=True)
    assert browser.post(f"{reader}/delete", data={}).status_code == 400  # no token: nothing happens


def test_the_story_export_escapes_markup_the_model_or_the_request_wrote():
    from types import SimpleNamespace

    from inkwright_stories.web import as_markdown
    chapter = SimpleNamespace(order=1, title="<img src=x onerror=alert(1)>", content="Text <script>x</script>.")
    story = SimpleNamespace(title="Tale <b>", chapters=[chapter])
    exported = as_markdown(story)
    assert "<img" not in exported and "<script" not in exported and "<b>" not in exported
    assert "&lt;img src=x onerror=alert(1)>" in exported
