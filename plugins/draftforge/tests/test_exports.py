"""Projects exported as books (inkwright_draftforge/exports.py): the manuscript at a resolved
commit, its chapters in reading order, through the core's export jobs; a ref the manuscript
lacks, an empty manuscript and a caller without can_export are refused."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
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


def epubcheck_says(tmp_path, content: bytes):
    """Debian's epubcheck on the file (``None`` where it is not installed: .ci/run installs it)."""
    jar, java = shutil.which("epubcheck"), shutil.which("java")
    if not jar or not java:
        return None
    path = tmp_path / "book.epub"
    path.write_bytes(content)
    return subprocess.run([java, "-jar", jar, str(path)], capture_output=True, text=True, timeout=120)


def test_a_project_exports_to_all_five_formats(app, api_client, user, make_project, run_jobs, tmp_path):
    project_id = make_project(user, CHAPTERS)
    started = {kind: export(api_client, project_id, kind) for kind in ("epub", "pdf", "docx", "html", "markdown")}
    assert {kind: answer.status_code for kind, answer in started.items()} == dict.fromkeys(started, 202)
    run_jobs()
    files = {}
    for kind, answer in started.items():
        download = api_client.get(f"/api/exports/{answer.json['data']['id']}/download")
        assert download.status_code == 200, (kind, download.json)
        files[kind] = download.data

    checked = epubcheck_says(tmp_path, files["epub"])
    if checked is not None:
        assert checked.returncode == 0, checked.stdout + checked.stderr
    headings = [p.text for p in docx.Document(io.BytesIO(files["docx"])).paragraphs if p.style.name == "Heading 1"]
    assert headings == ["Arrival", "The Letter"]
    pdf_text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "Arrival" in pdf_text and "The Letter" in pdf_text
    html_text = files["html"].decode()
    assert "<script" not in html_text.lower() and "She came home in the rain." in html_text
    assert files["markdown"].decode().count("# ") >= 2


def test_the_project_page_export_button_leads_to_the_finished_file(app, client, user, make_project, run_jobs):
    project_id = make_project(user, CHAPTERS)
    login = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": user.email, "password": user.password,
                                       "csrf_token": token}).status_code == 302
    page = client.get(f"/draftforge/{project_id}").get_data(as_text=True)
    assert 'action="/exports"' in page and 'value="draftforge.project"' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', page)
    pressed = client.post("/exports", data={"subject_kind": "draftforge.project", "subject_id": project_id,
                                            "export_type": "html", "csrf_token": token,
                                            "request_key": key.group(1) if key else "",
                                            "next": f"/draftforge/{project_id}"})
    assert pressed.status_code == 303, pressed.get_data(as_text=True)
    run_jobs()
    done = client.get(pressed.headers["Location"]).get_data(as_text=True)
    assert 'data-status="completed"' in done and "export-download" in done
