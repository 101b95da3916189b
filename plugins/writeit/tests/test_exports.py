"""Articles exported as books (inkwright_writeit/exports.py) through the core's export jobs:
each of the five formats, read back with its own library, a chapter per section of the
final text; the run the export reads is pinned when it is asked for (and may be named);
what is refused; the Export button on the article's page; and the sectioning itself."""

from __future__ import annotations

import io
import re
import uuid
import warnings
from urllib.parse import urlsplit

import docx
import pypdf
import pytest
from ebooklib import epub
from inkwright_writeit.exports import sections

TOPIC = "Shipping small changes every day"


def finished_article(api_client, pick, run_jobs, topic: str = TOPIC) -> dict:
    article = api_client.post("/api/writeit/articles", json={"topic": topic}).json["data"]
    run_id = article["currentRunId"]
    for step in ("angles", "outline", "draft", "polish"):
        pick(run_id, step, 0, None)
    run_jobs()
    return api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]


def section_headings(markdown: str) -> list[str]:
    return [line[3:].strip() for line in markdown.splitlines() if line.startswith("## ")]


def export(client, article_id: str, export_type: str = "epub", **body):
    return client.post("/api/exports", json={"subjectKind": "writeit.article", "subjectId": article_id,
                                             "exportType": export_type, **body})


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code, response.json
    return response.json["error"]


def exported(client, run_jobs, article_id: str, export_type: str, **body) -> tuple[dict, bytes]:
    asked = export(client, article_id, export_type, **body)
    assert asked.status_code == 202, asked.json
    run_jobs()
    job = client.get(f"/api/exports/{asked.json['data']['id']}").json["data"]
    assert job["status"] == "completed", job
    return job, client.get(job["outputUrl"]).data


def chapter_titles(export_type: str, content: bytes) -> list[str]:
    """The chapter titles a reader of the file finds, opening it with the format's own library."""
    if export_type == "epub":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ebooklib's own future-default warnings
            return [link.title for link in epub.read_epub(io.BytesIO(content)).toc]
    if export_type == "docx":
        return [p.text for p in docx.Document(io.BytesIO(content)).paragraphs if p.style.name == "Heading 1"]
    if export_type == "pdf":
        # A title page, the contents, then each chapter from a new page (a long one runs on):
        # the text of each page after the contents, a long title's lines joined.
        return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(content)).pages[2:]]
    text = content.decode()
    if export_type == "html":
        assert "<script" not in text.lower()
        return re.findall(r'<section class="chapter" id="chapter-\d+"><h2>(.*?)</h2>', text)
    return re.findall(r"^# (.*)$", text, re.MULTILINE)


@pytest.mark.parametrize("export_type", ["epub", "pdf", "docx", "html", "markdown"])
def test_an_article_exports_a_chapter_per_section_to_each_format(api_client, pick, run_jobs, export_type):
    article = finished_article(api_client, pick, run_jobs)
    headings = section_headings(article["finalMarkdown"])
    assert len(headings) >= 2

    job, content = exported(api_client, run_jobs, article["id"], export_type)

    titles = chapter_titles(export_type, content)
    if export_type == "pdf":  # a page a long section ran onto begins with its text, not a heading
        titles = [title for text in titles for title in headings if text.startswith(title)]
    assert titles == headings
    assert job["sourceRef"] == article["currentRunId"]
    extension = {"markdown": "md"}.get(export_type, export_type)
    assert job["outputFilename"].endswith(f"-{article['currentRunId'][:7]}.{extension}"), job


def test_the_export_reads_the_run_it_was_asked_for_and_may_name_an_earlier_one(api_client, pick, run_jobs):
    article = finished_article(api_client, pick, run_jobs)
    first_run, first_text = article["currentRunId"], article["finalMarkdown"]
    # Rewinding to the polish step: the article follows a run that has not finished.
    assert api_client.post(f"/api/writeit/articles/{article['id']}/branch", json={"step": "polish"}).status_code == 201
    run_jobs()
    following = api_client.get(f"/api/writeit/articles/{article['id']}").json["data"]
    assert following["currentRunId"] != first_run and following["finalMarkdown"] is None

    empty = refused(export(api_client, article["id"]), 422, "EXPORT_EMPTY")
    assert "subjectId" in empty["details"]["fields"]
    job, content = exported(api_client, run_jobs, article["id"], "markdown", sourceRef=first_run)
    assert job["sourceRef"] == first_run
    assert re.findall(r"^# (.*)$", content.decode(), re.MULTILINE) == section_headings(first_text)


def test_what_an_article_cannot_export_is_refused(api_client, pick, run_jobs, make_user, login_api):
    running = api_client.post("/api/writeit/articles", json={"topic": TOPIC}).json["data"]
    run_jobs()
    refused(export(api_client, running["id"]), 422, "EXPORT_EMPTY")  # its first step waits for a choice
    article = finished_article(api_client, pick, run_jobs)
    elsewhere = refused(export(api_client, article["id"], sourceRef=running["currentRunId"]), 422, "REF_NOT_FOUND")
    assert "sourceRef" in elsewhere["details"]["fields"]  # another article's run
    refused(export(api_client, article["id"], sourceRef=str(uuid.uuid4())), 422, "REF_NOT_FOUND")
    branch = refused(export(api_client, article["id"], sourceBranch="main"), 422, "REF_NOT_FOUND")
    assert "sourceBranch" in branch["details"]["fields"]
    refused(export(login_api(make_user()), article["id"]), 404, "NOT_FOUND")  # another tenant's article
    refused(export(api_client, str(uuid.uuid4())), 404, "NOT_FOUND")
    assert api_client.get("/api/exports").json["data"]["total"] == 0


def test_the_article_page_has_an_export_button_once_it_is_finished(browser, api_client, pick, run_jobs, submit):
    running = api_client.post("/api/writeit/articles", json={"topic": TOPIC}).json["data"]
    assert 'action="/exports"' not in browser.get(f"/articles/{running['id']}").get_data(as_text=True)
    article = finished_article(api_client, pick, run_jobs)
    page = f"/articles/{article['id']}"
    shown = browser.get(page).get_data(as_text=True)
    assert 'name="subject_kind" value="writeit.article"' in shown and f'value="{article["id"]}"' in shown

    response = submit(browser, "/exports", {"subject_kind": "writeit.article", "subject_id": article["id"],
                                            "export_type": "pdf", "next": page}, page=page)
    assert response.status_code == 303
    path = urlsplit(response.headers["Location"]).path
    run_jobs()
    done = browser.get(path).get_data(as_text=True)
    assert 'data-status="completed"' in done and 'id="export-download"' in done


def test_sections_split_at_second_level_headings_outside_code():
    body = ("An opening paragraph.\n\n## First part ##\n\nText one.\n\n```\n## not a heading\n```\n\n"
            "## Empty\n\n## Second part\n\n~~~~\n## still code\n~~~\nText two.\n")
    found = sections("The Title", body)
    assert [chapter.title for chapter in found] == ["The Title", "First part", "Second part"]
    assert "## not a heading" in found[1].markdown and "## still code" in found[2].markdown
    assert found[0].markdown == "An opening paragraph.\n"
    assert [chapter.title for chapter in sections("Only", "Just text, no sections.")] == ["Only"]
    assert sections("Nothing", "  \n") == ()
