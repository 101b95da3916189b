"""Stories exported as books (inkwright_stories/exports.py) through the core's export jobs:
each of the five formats, read back with its own library (a chapter per chapter of the
story, in order); the Export button on the story's page; and what is refused — an empty
story, a ref, another tenant's or a deleted story, a read-only credential."""

from __future__ import annotations

import io
import re
import warnings
from urllib.parse import urlsplit

import docx
import ebooklib
import pypdf
import pytest
from ebooklib import epub

from app.models import ExportJob
from app.pytest_plugin import ApiClient

CHAPTERS = [{"title": "The Bottle", "content": "Mara found the bottle at low tide.\n\nIt was *sealed* with wax."},
            {"title": "Not Written Yet", "content": "   "},
            {"title": "The Message", "content": "Inside: a map, and <script>alert(1)</script> in ink."},
            {"title": "The Harbour Master", "content": "He had seen the map before.\n\n- once\n- twice"}]
#: The chapters with text, in order: the book's chapters.
WRITTEN = ["The Bottle", "The Message", "The Harbour Master"]


def new_story(client, title: str = "The Lighthouse Keeper", chapters=None) -> str:
    made = client.post("/api/stories", json={"title": title, "chapters": CHAPTERS if chapters is None else chapters})
    assert made.status_code == 201, made.json
    return made.json["data"]["id"]


def export(client, story_id: str, export_type: str = "epub", **body):
    return client.post("/api/exports", json={"subjectKind": "stories.story", "subjectId": story_id,
                                             "exportType": export_type, **body})


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code, response.json
    return response.json["error"]


def exported(client, run_jobs, story_id: str, export_type: str) -> tuple[dict, bytes]:
    asked = export(client, story_id, export_type)
    assert asked.status_code == 202, asked.json
    run_jobs()
    job = client.get(f"/api/exports/{asked.json['data']['id']}").json["data"]
    assert job["status"] == "completed", job
    downloaded = client.get(job["outputUrl"])
    assert downloaded.status_code == 200
    return job, downloaded.data


def chapter_titles(export_type: str, content: bytes) -> list[str]:
    """The chapter titles a reader of the file finds, opening it with the format's own library."""
    if export_type == "epub":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ebooklib's own future-default warnings
            book = epub.read_epub(io.BytesIO(content))
        assert len([item for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT)
                    if item.get_name().startswith("chapter-")]) == len(book.toc)
        return [link.title for link in book.toc]
    if export_type == "docx":
        return [p.text for p in docx.Document(io.BytesIO(content)).paragraphs if p.style.name == "Heading 1"]
    if export_type == "pdf":
        pages = pypdf.PdfReader(io.BytesIO(content)).pages
        # A title page, the contents, then each chapter on a page of its own.
        return [page.extract_text().splitlines()[0] for page in pages[2:]]
    text = content.decode()
    if export_type == "html":
        assert "<script" not in text.lower()
        return re.findall(r'<section class="chapter" id="chapter-\d+"><h2>(.*?)</h2>', text)
    return re.findall(r"^# (.*)$", text, re.MULTILINE)


@pytest.mark.parametrize("export_type", ["epub", "pdf", "docx", "html", "markdown"])
def test_a_story_exports_its_written_chapters_in_order_to_each_format(api_client, run_jobs, export_type):
    story_id = new_story(api_client)
    job, content = exported(api_client, run_jobs, story_id, export_type)

    assert chapter_titles(export_type, content) == WRITTEN
    extension = {"markdown": "md"}.get(export_type, export_type)
    assert re.fullmatch(rf"the-lighthouse-keeper-[0-9a-f]{{7}}\.{extension}", job["outputFilename"]), job
    assert "read 3 chapters" in job["buildLog"] and job["sourceRef"] is None
    if export_type in ("html", "markdown"):
        assert "Mara found the bottle at low tide." in content.decode()
        assert "<script>alert(1)</script>" not in content.decode(), "the writer's markup is text"


def test_a_generated_story_exports_as_written_by_the_model(api_client, generate, run_jobs):
    story = generate(n_chapters=2, l_chapter=60)["story"]
    assert story["status"] == "completed"
    _, content = exported(api_client, run_jobs, story["id"], "docx")
    assert chapter_titles("docx", content) == [chapter["title"] for chapter in story["chapters"]]


def test_what_a_story_cannot_export_is_refused(app, api_client, run_jobs, make_user, login_api):
    story_id = new_story(api_client)
    empty = refused(export(api_client, new_story(api_client, "Empty", [])), 422, "EXPORT_EMPTY")
    assert "subjectId" in empty["details"]["fields"]
    blank = [{"title": "Soon", "content": ""}]
    refused(export(api_client, new_story(api_client, "Blank", blank)), 422, "EXPORT_EMPTY")
    ref = refused(export(api_client, story_id, sourceRef="v1"), 422, "REF_NOT_FOUND")
    assert "sourceRef" in ref["details"]["fields"]
    refused(export(api_client, story_id, sourceBranch="main"), 422, "REF_NOT_FOUND")
    refused(export(api_client, story_id, "mobi"), 422, "EXPORT_FORMAT_RETIRED")
    refused(export(login_api(make_user()), story_id), 404, "NOT_FOUND")  # another tenant's story
    refused(export(api_client, "not-a-story"), 404, "NOT_FOUND")
    key = api_client.post("/api/api-keys", json={"name": "reader", "role": "viewer"}).json["data"]["secret"]
    refused(export(ApiClient(app.test_client(), key), story_id), 403, "FORBIDDEN")
    assert api_client.delete(f"/api/stories/{story_id}").status_code == 200
    refused(export(api_client, story_id), 404, "NOT_FOUND")  # deleted
    assert api_client.get("/api/exports").json["data"]["total"] == 0


def test_a_story_deleted_while_its_export_waits_fails_the_job_and_keeps_nothing(api_client, run_jobs):
    story_id = new_story(api_client)
    asked = export(api_client, story_id, "pdf").json["data"]
    assert api_client.delete(f"/api/stories/{story_id}").status_code == 200
    run_jobs()
    job = api_client.get(f"/api/exports/{asked['id']}").json["data"]
    assert (job["status"], job["outputUrl"]) == ("failed", None) and "is gone" in job["errorMessage"]


def test_the_story_page_has_an_export_button_that_leads_to_the_export(browser, api_client, csrf_token, run_jobs):
    story_id = new_story(api_client)
    page = browser.get(f"/stories/{story_id}").get_data(as_text=True)
    assert 'action="/exports"' in page and 'name="subject_kind" value="stories.story"' in page
    assert f'name="subject_id" value="{story_id}"' in page
    no_chapters = new_story(api_client, "Empty", [])
    assert 'action="/exports"' not in browser.get(f"/stories/{no_chapters}").get_data(as_text=True)

    token = csrf_token(browser, f"/stories/{story_id}")
    response = browser.post("/exports", data={"csrf_token": token, "subject_kind": "stories.story",
                                              "subject_id": story_id, "export_type": "epub",
                                              "next": f"/stories/{story_id}"})
    assert response.status_code == 303, response.get_data(as_text=True)
    path = urlsplit(response.headers["Location"]).path
    assert re.fullmatch(r"/exports/[0-9a-f-]{36}", path)
    run_jobs()
    done = browser.get(path).get_data(as_text=True)
    assert 'data-status="completed"' in done and 'id="export-download"' in done


def test_a_story_with_nothing_written_says_so_beside_its_export_button(browser, api_client, csrf_token, row_count):
    blank = new_story(api_client, "Blank", [{"title": "Soon", "content": ""}])
    page = f"/stories/{blank}"
    response = browser.post("/exports", data={"csrf_token": csrf_token(browser, page), "subject_kind": "stories.story",
                                              "subject_id": blank, "export_type": "docx", "next": page})
    assert response.status_code == 303 and urlsplit(response.headers["Location"]).path == page
    shown = browser.get(page).get_data(as_text=True)
    beside = re.search(rf'<ul class="errors" id="export-type-{blank}-errors" role="alert"><li>(.*?)</li>', shown)
    assert beside and beside.group(1) == "There is nothing to export yet: no chapter has text."
    assert re.search(r'<option value="docx" selected>', shown), "the format chosen stays chosen"
    assert row_count(ExportJob) == 0
