"""Projects exported as books (inkwright_draftforge/exports.py): the manuscript at a resolved
commit, its chapters in reading order, through the core's export jobs; a ref the manuscript
lacks, an empty manuscript and a caller without can_export are refused."""

from __future__ import annotations

import io
import uuid

import docx
import pypdf
from inkwright_draftforge.manuscript_values import Author, Put
from inkwright_draftforge.models import Project
from inkwright_draftforge.repository_store import open_manuscript

from app.extensions import db

CHAPTERS = {"chapters/01-arrival.md": "# Arrival\n\nShe came home in the rain.\n",
            "chapters/02-the-letter.md": "# The Letter\n\nThe letter was opened at dawn.\n"}


def export(api_client, project_id: str, export_type: str = "docx", **body):
    return api_client.post("/api/exports", json={"subjectKind": "draftforge.project", "subjectId": project_id,
                                                 "exportType": export_type, **body})


def expect_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code, response.json
    return response.json["error"]


def head_of(app, project_id: str) -> str:
    with app.app_context():
        return open_manuscript(db.session.get(Project, uuid.UUID(project_id))).head()


def test_a_project_exports_its_chapters_in_order_at_the_commit_asked_for(app, api_client, user, make_project,
                                                                        run_jobs):
    project_id = make_project(user, CHAPTERS)
    asked_at = head_of(app, project_id)
    job = export(api_client, project_id, "docx")
    assert job.status_code == 202, job.json
    assert (job.json["data"]["sourceRef"], job.json["data"]["sourceBranch"]) == (asked_at, "main")
    # A chapter added after the export was asked for is not in it: the job reads the resolved commit.
    with app.app_context():
        manuscript = open_manuscript(db.session.get(Project, uuid.UUID(project_id)))
        manuscript.commit_changes([Put("chapters/03-later.md", "# Later\n\nWritten afterwards.\n")],
                                  Author("Ada", "ada@example.com"), "Later", base=manuscript.head())
    run_jobs()
    done = api_client.get(f"/api/exports/{job.json['data']['id']}").json["data"]
    assert done["status"] == "completed", done
    assert done["outputFilename"] == f"the-lighthouse-{asked_at[:7]}.docx"
    document = docx.Document(io.BytesIO(api_client.get(done["outputUrl"]).data))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == ["Arrival", "The Letter"]


def test_a_branch_a_commit_and_a_pdf(app, api_client, user, make_project, run_jobs):
    project_id = make_project(user, CHAPTERS)
    sha = head_of(app, project_id)
    assert export(api_client, project_id, "pdf", sourceRef=sha).status_code == 202
    assert export(api_client, project_id, "pdf", sourceBranch="main").status_code == 202
    run_jobs()
    items = api_client.get(f"/api/exports?subjectId={project_id}").json["data"]["items"]
    assert {item["status"] for item in items} == {"completed"} and {item["sourceRef"] for item in items} == {sha}
    reader = pypdf.PdfReader(io.BytesIO(api_client.get(items[0]["outputUrl"]).data))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "The Lighthouse" in text and "She came home in the rain." in text and "The letter was opened" in text


def test_what_cannot_be_exported_is_refused(app, api_client, user, make_project, login_api, make_user):
    project_id = make_project(user, CHAPTERS)
    refused = expect_error(export(api_client, project_id, sourceRef="no-such-tag"), 422, "REF_NOT_FOUND")
    assert "sourceRef" in refused["details"]["fields"]
    expect_error(export(api_client, project_id, sourceBranch="drafts"), 422, "REF_NOT_FOUND")
    empty = make_project(user, None, name="Empty", slug="empty")
    expect_error(export(api_client, empty), 422, "EXPORT_EMPTY")
    expect_error(export(login_api(make_user()), project_id), 404, "NOT_FOUND")  # another tenant's
    key = api_client.post("/api/api-keys", json={"name": "reader", "role": "viewer"}).json["data"]["secret"]
    from app.pytest_plugin import ApiClient

    viewer = ApiClient(app.test_client(), key)  # a read-only credential may not create exports at all
    expect_error(export(viewer, project_id), 403, "FORBIDDEN")
    assert api_client.delete(f"/api/draftforge/projects/{project_id}").status_code == 200
    expect_error(export(api_client, project_id), 404, "NOT_FOUND")  # in the trash
