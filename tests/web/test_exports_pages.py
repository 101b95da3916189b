"""The studio's export pages (app/web/exports.py) and the Export button (_export_button.html):
export a run from its page, watch the export's page reach ``completed`` and download the
file; refusals (a retired or unknown format, another tenant's subject, nothing written yet,
a viewer) come back to the button's page with what was wrong beside its format (or, posted
from no button, to the list with it said above), never a 500, and write nothing; other
people's exports are not found; the list pages; delete."""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from app.models import ExportJob, Role
from tests.agent_runs import reviewed

reviewed_run = reviewed.reviewed_run

FLASH = re.compile(r'<p class="flash flash-(\w+)" role="status">(.*?)</p>', re.S)
EXPORT_PATH = re.compile(r"^/exports/[0-9a-f-]{36}$")


def duplicate_ids(page: str) -> list[str]:
    return [name for name, count in Counter(re.findall(r'\sid="([^"]+)"', page)).items() if count > 1]


def flashed(page: str) -> list[tuple[str, str]]:
    return [(category, html.unescape(text)) for category, text in FLASH.findall(page)]


def export_from(browser, submit, run_id: str, export_type: str = "epub", **fields):
    """Press the run page's Export button with ``export_type`` chosen (``fields`` override what it posts)."""
    page = f"/runs/{run_id}"
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', browser.get(page).get_data(as_text=True))
    data = {"subject_kind": "inkwright.run", "subject_id": run_id, "export_type": export_type,
            "request_key": key.group(1) if key else "", "next": page, **fields}
    return submit(browser, "/exports", data, page=page)


def test_the_run_page_exports_and_the_export_page_follows_it_to_the_download(browser, submit, reviewed_run,
                                                                             run_jobs, row_count):
    run_page = browser.get(f"/runs/{reviewed_run}").get_data(as_text=True)
    assert 'action="/exports"' in run_page and 'value="inkwright.run"' in run_page
    assert '<option value="epub" selected>EPUB (e-readers)</option>' in run_page
    assert "Export the outputs" in run_page and duplicate_ids(run_page) == []

    response = export_from(browser, submit, reviewed_run, "docx")
    assert response.status_code == 303
    path = urlsplit(response.headers["Location"]).path
    assert EXPORT_PATH.match(path) and row_count(ExportJob) == 1

    waiting = browser.get(path).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and '<meta http-equiv="refresh" content="2">' in waiting
    assert "export-download" not in waiting

    run_jobs()
    done = browser.get(path).get_data(as_text=True)
    assert 'data-status="completed"' in done and 'http-equiv="refresh"' not in done
    export_id = path.rsplit("/", 1)[1]
    download = re.search(rf'id="export-download" href="(/api/exports/{export_id}/download)"', done)
    assert download, done
    assert "rendered docx" in done and "read 1 chapters" in done and "100%" in done
    assert duplicate_ids(done) == []
    file = browser.get(download.group(1))  # the JSON API's download, with the browser's session
    assert file.status_code == 200 and file.data.startswith(b"PK")
    assert file.headers["Content-Disposition"].endswith('.docx"')

    listed = browser.get("/exports").get_data(as_text=True)
    assert f'href="{path}"' in listed and f'href="{download.group(1)}"' in listed
    assert 'data-status="completed"' in listed and "Word (DOCX)" in listed
    assert 'aria-current="page">Exports</a>' in listed and duplicate_ids(listed) == []


@pytest.mark.parametrize(("fields", "where", "said"), [
    ({"export_type": "mobi"}, "beside",
     "Format: MOBI is retired: Amazon's Kindle takes EPUB now; export EPUB instead."),
    ({"export_type": "odt"}, "beside", "Format: One of: epub, pdf, docx, html, markdown."),
    ({"subject_kind": "nobody.knows"}, "above", "What to export: Not one of: inkwright.run."),
    ({"subject_id": "not-a-uuid"}, "above", "That was not found"),
    ({"subject_id": ""}, "above", "Say what to export, and in which format."),
    ({"export_type": ""}, "above", "Say what to export, and in which format."),
], ids=["mobi", "unknown-format", "unknown-kind", "not-an-id", "no-subject", "no-format"])
def test_a_refused_export_goes_back_to_its_page_saying_why_and_writes_nothing(browser, submit, reviewed_run,
                                                                              row_count, errors_beside, fields,
                                                                              where, said):
    response = export_from(browser, submit, reviewed_run, **fields)

    assert response.status_code == 303 and urlsplit(response.headers["Location"]).path == f"/runs/{reviewed_run}"
    back = browser.get(response.headers["Location"])
    if where == "above":  # not about the button's choice: the page may not show that button
        shown = flashed(back.get_data(as_text=True))
    else:
        shown = [("error", message) for message in errors_beside(back, f"export-type-{reviewed_run}")]
        assert 'aria-invalid="true"' in back.get_data(as_text=True)
    assert len(shown) == 1 and shown[0][0] == "error" and shown[0][1].startswith(said), shown
    assert row_count(ExportJob) == 0
    again = browser.get(f"/runs/{reviewed_run}").get_data(as_text=True)
    assert said not in html.unescape(again) and 'aria-invalid="true"' not in again, "said once"


def test_another_tenants_subject_is_not_found_and_nothing_is_written(app, reviewed_run, make_user, sign_in, submit,
                                                                     row_count):
    stranger = sign_in(app.test_client(), make_user())
    response = submit(stranger, "/exports", {"subject_kind": "inkwright.run", "subject_id": reviewed_run,
                                             "export_type": "pdf", "next": "/"}, page="/")
    assert response.status_code == 303
    shown = flashed(stranger.get(response.headers["Location"]).get_data(as_text=True))
    assert shown == [("error", "That was not found: it was deleted, or it is not yours to export.")]
    assert row_count(ExportJob) == 0


def test_a_run_with_nothing_written_yet_has_nothing_to_export(browser, submit, api_client, row_count):
    api_client.post("/api/workflows", data=reviewed.DRAFTING, content_type="application/yaml")
    queued = api_client.post("/api/runs", json={"workflow": "drafting", "inputs": {"text": "x"}}).json["data"]
    response = submit(browser, "/exports", {"subject_kind": "inkwright.run", "subject_id": queued["id"],
                                            "export_type": "epub", "next": "/exports"}, page="/exports")
    shown = flashed(browser.get(response.headers["Location"]).get_data(as_text=True))
    assert shown == [("error", "There is nothing to export yet: no chapter has text.")]
    assert row_count(ExportJob) == 0


def test_a_page_elsewhere_is_not_where_a_refusal_goes(browser, submit, reviewed_run):
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = export_from(browser, submit, reviewed_run, "mobi", next=elsewhere)
        assert response.status_code == 303 and response.headers["Location"] == "/exports", elsewhere


def test_pressing_the_same_button_twice_makes_one_export_but_another_format_makes_another(browser, submit,
                                                                                        reviewed_run, row_count):
    page = browser.get(f"/runs/{reviewed_run}").get_data(as_text=True)
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', page).group(1)
    first = export_from(browser, submit, reviewed_run, "pdf", request_key=key)
    again = export_from(browser, submit, reviewed_run, "pdf", request_key=key)
    assert first.headers["Location"] == again.headers["Location"] and row_count(ExportJob) == 1
    other = export_from(browser, submit, reviewed_run, "html", request_key=key)
    assert other.headers["Location"] != first.headers["Location"] and row_count(ExportJob) == 2


def test_a_viewer_has_no_export_button_and_is_refused(app, user, reviewed_run, make_user, sign_in, submit, add_member,
                                                      row_count):
    viewer = make_user()
    add_member(user.tenant_id, viewer, Role.VIEWER)
    client = sign_in(app.test_client(), viewer)
    submit(client, f"/tenants/{user.tenant_id}/switch", page="/")
    run_page = client.get(f"/runs/{reviewed_run}").get_data(as_text=True)
    assert "Run of drafting" in run_page and 'action="/exports"' not in run_page

    response = submit(client, "/exports", {"subject_kind": "inkwright.run", "subject_id": reviewed_run,
                                           "export_type": "epub"}, page="/exports")
    shown = flashed(client.get(response.headers["Location"]).get_data(as_text=True))
    assert shown == [("error", "Your role (viewer) may not create exports.")]
    assert row_count(ExportJob) == 0


def test_an_export_is_only_its_makers_and_deleting_it_removes_it(app, browser, submit, reviewed_run, make_user,
                                                                 sign_in, add_member, user, row_count):
    path = urlsplit(export_from(browser, submit, reviewed_run, "markdown").headers["Location"]).path
    colleague = make_user()
    add_member(user.tenant_id, colleague, Role.MEMBER)
    other = sign_in(app.test_client(), colleague)
    submit(other, f"/tenants/{user.tenant_id}/switch", page="/")
    assert other.get(path).status_code == 404  # the same tenant, another person
    assert "No exports yet" in other.get("/exports").get_data(as_text=True)
    assert submit(other, f"{path}/delete", page="/exports").status_code == 404
    assert sign_in(app.test_client(), make_user()).get(path).status_code == 404  # another tenant
    assert browser.get("/exports/not-an-id").status_code == 404

    assert browser.post(f"{path}/delete").status_code == 400  # no CSRF token: refused, nothing deleted
    deleted = submit(browser, f"{path}/delete", page=path)
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/exports"
    assert ("success", "The MARKDOWN export is deleted.") in flashed(browser.get("/exports").get_data(as_text=True))
    assert browser.get(path).status_code == 404 and row_count(ExportJob) == 0


def test_the_list_pages_newest_first(browser, submit, reviewed_run, monkeypatch):
    from app.web import exports

    monkeypatch.setattr(exports, "PAGE_SIZE", 2)
    made = [urlsplit(export_from(browser, submit, reviewed_run, kind).headers["Location"]).path
            for kind in ("epub", "pdf", "html")]
    first = browser.get("/exports").get_data(as_text=True)
    assert "Page 1 of 2 · 3 exports" in first and 'rel="next" href="/exports?page=2"' in first
    assert f'href="{made[2]}"' in first and f'href="{made[1]}"' in first and made[0] not in first
    assert '<meta http-equiv="refresh"' in first, "the list follows exports still queued"
    second = browser.get("/exports?page=2").get_data(as_text=True)
    assert f'href="{made[0]}"' in second and 'rel="prev"' in second
    assert "Page 2 of 2" in browser.get("/exports?page=99").get_data(as_text=True)  # past the end: the last page


def test_a_failed_export_says_why_on_its_page(browser, submit, reviewed_run, run_jobs, monkeypatch):
    from app.exports import formats

    broken = formats.ExportFormat("pdf", "pdf", "application/pdf", None, lambda book, settings, progress: 1 / 0)
    monkeypatch.setitem(formats.FORMATS, "pdf", broken)
    path = urlsplit(export_from(browser, submit, reviewed_run, "pdf").headers["Location"]).path
    run_jobs()
    page = browser.get(path).get_data(as_text=True)
    assert 'data-status="failed"' in page and "<code>EXPORT_FAILED</code>" in page
    assert "ZeroDivisionError" in page and "export-download" not in page and 'http-equiv="refresh"' not in page
