"""Export jobs over JSON (app/api/exports.py, app/exports/): a workflow run's written steps
exported to each format on the worker and downloaded with its checksum as ETag; what is
refused and why; idempotency; rule 4's 30 days, and the purge that keeps shared bytes."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile

import pytest
from sqlalchemy import select

from app.exports.purge import purge_expired_exports
from app.extensions import db
from app.models import AuditLogEntry, DomainEventRecord, ExportJob, Membership, Notification, Role
from app.runtime import current_state, repositories
from tests.agent_runs import reviewed

DAY = 24 * 3600
reviewed_run = reviewed.reviewed_run


def export(api_client, run_id: str, export_type: str = "epub", headers=None, **body):
    return api_client.post("/api/exports", json={"subjectKind": "inkwright.run", "subjectId": run_id,
                                                 "exportType": export_type, **body}, headers=headers)


def data(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json["data"]


def made(api_client, run_jobs, run_id: str, export_type: str = "epub", **body) -> dict:
    job = data(export(api_client, run_id, export_type, **body), 202)
    assert job["status"] == "queued" and job["progressPercent"] == 0
    run_jobs()
    return data(api_client.get(f"/api/exports/{job['id']}"))


@pytest.mark.parametrize(("export_type", "media_type", "extension"), [
    ("epub", "application/epub+zip", "epub"), ("pdf", "application/pdf", "pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("html", "text/html; charset=utf-8", "html"), ("markdown", "text/markdown; charset=utf-8", "md")])
def test_a_run_exports_to_each_format_and_downloads_with_its_checksum(api_client, run_jobs, reviewed_run, clock,
                                                                      export_type, media_type, extension):
    job = made(api_client, run_jobs, reviewed_run, export_type)
    assert (job["status"], job["progressPercent"], job["expired"]) == ("completed", 100, False)
    assert job["outputUrl"] == f"/api/exports/{job['id']}/download"
    assert job["outputFilename"].endswith(f".{extension}") and job["outputFilename"].startswith("drafting-run-")
    assert "read 1 chapters" in job["buildLog"] and f"rendered {export_type}" in job["buildLog"]
    downloaded = api_client.get(job["outputUrl"])
    assert downloaded.status_code == 200 and downloaded.mimetype == media_type.split(";")[0]
    assert hashlib.sha256(downloaded.data).hexdigest() == job["outputChecksum"]
    assert len(downloaded.data) == job["outputSizeBytes"]
    assert downloaded.headers["ETag"] == f'"{job["outputChecksum"]}"'
    assert downloaded.headers["Content-Disposition"] == f'attachment; filename="{job["outputFilename"]}"'
    again = api_client.get(job["outputUrl"], headers={"If-None-Match": downloaded.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    if export_type == "epub":
        assert "EPUB/chapter-001.xhtml" in zipfile.ZipFile(io.BytesIO(downloaded.data)).namelist()
    if export_type == "markdown":
        assert "The lighthouse stood on the the cliff." in downloaded.data.decode()


def test_completing_publishes_export_completed_and_tells_the_person(app, api_client, run_jobs, reviewed_run, user):
    job = made(api_client, run_jobs, reviewed_run, "html")
    with app.app_context():
        events = db.session.query(DomainEventRecord).filter(DomainEventRecord.type == "export.completed").all()
        assert [e.payload["exportId"] for e in events] == [job["id"]]
        note = db.session.query(Notification).filter(Notification.type == "export_ready").one()
        assert note.user_id == user.user.id and note.action_url == job["outputUrl"]


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"exportType": "mobi"}, 422, "EXPORT_FORMAT_RETIRED", "exportType"),
    ({"exportType": "odt"}, 400, "VALIDATION_ERROR", "exportType"),
    ({"subjectKind": "nobody.knows"}, 400, "VALIDATION_ERROR", "subjectKind"),
    ({"settings": {"fontSize": 99}}, 400, "VALIDATION_ERROR", "settings"),
    ({"settings": {"pageSize": "napkin"}}, 400, "VALIDATION_ERROR", "settings"),
    ({"settings": {"template": "x"}}, 400, "VALIDATION_ERROR", "settings"),
])
def test_bad_exports_are_refused_beside_their_field_and_write_nothing(app, api_client, reviewed_run, expect_error,
                                                                      body, status, code, field):
    response = api_client.post("/api/exports", json={"subjectKind": "inkwright.run", "subjectId": reviewed_run,
                                                     "exportType": "epub", **body})
    error = expect_error(response, status, code)
    assert field in error["details"]["fields"], error
    with app.app_context():
        assert db.session.query(ExportJob).count() == 0


def test_a_source_that_is_not_the_callers_or_has_nothing_written_is_refused(app, api_client, make_user, login_api,
                                                                            reviewed_run, expect_error, run_jobs):
    expect_error(export(api_client, str(uuid.uuid4())), 404, "NOT_FOUND")
    expect_error(export(api_client, "not-a-uuid"), 404, "NOT_FOUND")
    expect_error(export(login_api(make_user()), reviewed_run), 404, "NOT_FOUND")  # another tenant's run
    api_client.post("/api/workflows", data=reviewed.DRAFTING, content_type="application/yaml")
    queued = data(api_client.post("/api/runs", json={"workflow": "drafting", "inputs": {"text": "x"}}), 202)
    empty = expect_error(export(api_client, queued["id"]), 422, "EXPORT_EMPTY")  # no step has written yet
    assert "subjectId" in empty["details"]["fields"]


def test_the_same_idempotency_key_answers_the_same_export(api_client, reviewed_run):
    first = export(api_client, reviewed_run, headers={"Idempotency-Key": "export-1"})
    second = export(api_client, reviewed_run, headers={"Idempotency-Key": "export-1"})
    assert first.status_code == second.status_code == 202
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json["data"]["id"] == second.json["data"]["id"]
    assert data(api_client.get("/api/exports"))["total"] == 1


def test_an_export_is_only_its_makers_and_viewers_cannot_make_one(app, api_client, user, make_user, login_api,
                                                                   reviewed_run, run_jobs, expect_error):
    job = made(api_client, run_jobs, reviewed_run)
    colleague = make_user()
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.for_tenant(user.tenant_id).memberships.add(Membership(user_id=colleague.user.id,
                                                                        role=Role.VIEWER))
    from app.pytest_plugin import ApiClient

    signed = app.test_client().post("/api/auth/login", json={"email": colleague.email, "password": colleague.password,
                                                              "tenantId": str(user.tenant_id)})
    viewer = ApiClient(app.test_client(), signed.json["data"]["session"]["token"])
    expect_error(viewer.get(f"/api/exports/{job['id']}"), 404, "NOT_FOUND")
    expect_error(viewer.get(job["outputUrl"]), 404, "NOT_FOUND")
    assert data(viewer.get("/api/exports"))["total"] == 0
    expect_error(export(viewer, reviewed_run), 403, "FORBIDDEN")


def test_a_download_waits_for_completion_and_ends_after_30_days(app, api_client, run_jobs, reviewed_run, clock,
                                                                 expect_error):
    job = data(export(api_client, reviewed_run), 202)
    expect_error(api_client.get(f"/api/exports/{job['id']}/download"), 409, "EXPORT_NOT_READY")
    run_jobs()
    job = data(api_client.get(f"/api/exports/{job['id']}"))
    assert job["expiresAt"][:10] == (clock.now().date().fromordinal(clock.now().date().toordinal() + 30)).isoformat()
    clock.advance(30 * DAY + 60)
    assert data(api_client.get(f"/api/exports/{job['id']}"))["expired"] is True
    expect_error(api_client.get(job["outputUrl"]), 410, "EXPORT_EXPIRED")


def test_the_purge_deletes_expired_files_but_not_bytes_a_live_export_shares(app, api_client, run_jobs, reviewed_run,
                                                                             clock):
    old = made(api_client, run_jobs, reviewed_run, "markdown")
    clock.advance(20 * DAY)
    shared = made(api_client, run_jobs, reviewed_run, "markdown")  # the same bytes, stored once
    lone = made(api_client, run_jobs, reviewed_run, "html")
    assert shared["outputChecksum"] == old["outputChecksum"]
    clock.advance(11 * DAY)  # the first is 31 days old, the second and the html 11: only the first is due
    with app.app_context():
        assert purge_expired_exports() == {"expired": 1, "filesDeleted": 0}, "the shared bytes stay"
        storage = current_state().storage
        assert storage.read(f"local:{shared['outputChecksum']}")
    assert data(api_client.get(f"/api/exports/{old['id']}"))["expired"] is True
    assert api_client.get(shared["outputUrl"]).status_code == 200
    clock.advance(20 * DAY)  # now the second and the html are past their 30 days too
    with app.app_context():
        assert purge_expired_exports() == {"expired": 2, "filesDeleted": 2}
        with pytest.raises(FileNotFoundError):
            current_state().storage.read(f"local:{lone['outputChecksum']}")
        assert purge_expired_exports() == {"expired": 0, "filesDeleted": 0}


def test_deleting_an_export_removes_it_and_its_file(app, api_client, run_jobs, reviewed_run, expect_error):
    job = made(api_client, run_jobs, reviewed_run, "docx")
    assert data(api_client.delete(f"/api/exports/{job['id']}"))["id"] == job["id"]
    expect_error(api_client.get(f"/api/exports/{job['id']}"), 404, "NOT_FOUND")
    with app.app_context(), pytest.raises(FileNotFoundError):
        current_state().storage.read(f"local:{job['outputChecksum']}")


def test_making_and_deleting_an_export_are_in_the_audit_log(app, api_client, run_jobs, reviewed_run, user):
    job = made(api_client, run_jobs, reviewed_run, "html")
    assert api_client.delete(f"/api/exports/{job['id']}").status_code == 200
    with app.app_context():
        entries = db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_id == job["id"])
                                     .order_by(AuditLogEntry.created_at)).all()
        assert [entry.action for entry in entries] == ["export.create", "export.delete"]
        assert entries[0].user_id == user.user.id and entries[0].details["export_type"] == "html"


def test_a_failed_render_keeps_no_file_and_says_why(app, api_client, run_jobs, reviewed_run, monkeypatch):
    from app.exports import formats

    broken = formats.ExportFormat("pdf", "pdf", "application/pdf", None, lambda book, settings, progress: 1 / 0)
    monkeypatch.setitem(formats.FORMATS, "pdf", broken)  # a renderer that fails, injected
    job = made(api_client, run_jobs, reviewed_run, "pdf")
    assert (job["status"], job["errorCode"], job["outputUrl"], job["outputChecksum"]) == (
        "failed", "EXPORT_FAILED", None, None)
    assert "ZeroDivisionError" in job["errorMessage"] and "failed: ZeroDivisionError" in job["buildLog"]
    with app.app_context():
        assert db.session.query(DomainEventRecord).filter(DomainEventRecord.type == "export.failed").count() == 1


def test_the_reconciler_queues_again_an_export_whose_job_redis_lost_and_fails_one_a_worker_lost(
        app, api_client, run_jobs, reviewed_run, clock):
    from app.exports.execution import sweep

    lost_job = data(export(api_client, reviewed_run, "html"), 202)
    with app.app_context():
        current_state().queue().empty()  # Redis lost the job
        assert sweep() == {"failed": 0, "requeued": 0}, "a minute's grace first"
    clock.advance(120)
    with app.app_context():
        assert sweep() == {"failed": 0, "requeued": 1}
        assert sweep() == {"failed": 0, "requeued": 0}, "its job is queued now"
    run_jobs()
    assert data(api_client.get(f"/api/exports/{lost_job['id']}"))["status"] == "completed"

    stuck = data(export(api_client, reviewed_run, "markdown"), 202)
    with app.app_context():
        current_state().queue().empty()
        db.session.query(ExportJob).filter(ExportJob.id == uuid.UUID(stuck["id"])).update(
            {"status": "processing", "started_at": clock.now()})  # a worker took it, then died
        db.session.commit()
    clock.advance(16 * 60)
    with app.app_context():
        assert sweep() == {"failed": 1, "requeued": 0}
    shown = data(api_client.get(f"/api/exports/{stuck['id']}"))
    assert (shown["status"], shown["errorCode"], shown["outputUrl"]) == ("failed", "WORKER_LOST", None)
