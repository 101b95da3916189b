"""Reading runs fast (issue 10): the run detail and the run list cost the same number of
queries for 5 steps or 50, 5 runs or 50 (no N+1), and a finished run answers a revalidation
with ``304 Not Modified`` from its ETag without building the detail again."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import event

from app.extensions import db


def wide(name: str, count: int) -> str:
    """``count`` steps, each with two candidates, every other one storing an artifact."""
    artifact = ', artifact: "bytes"'
    steps = "".join(f"  - id: s{index:02d}\n    skill: test.echo\n    candidates: 2\n"
                    f"    with: {{text: \"part {index}\"{artifact if index % 2 else ''}}}\n"
                    for index in range(count))
    return f'name: {name}\nversion: "1"\nsteps:\n{steps}'


@contextmanager
def counted_queries(app) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs."""
    seen: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def finished_run(app, api_client, upload_workflow, start_run, run_jobs):
    def make(name: str, steps: int) -> dict:
        upload_workflow(api_client, wide(name, steps))
        run = start_run(api_client, name)
        run_jobs()
        return run
    return make


def queries_to_read(app, api_client, path: str) -> int:
    with counted_queries(app) as seen:
        response = api_client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(seen)


def test_a_runs_detail_costs_the_same_queries_for_50_steps_as_for_5(app, api_client, finished_run):
    small, large = finished_run("five", 5), finished_run("fifty", 50)

    few = queries_to_read(app, api_client, f"/api/runs/{small['id']}")
    many = queries_to_read(app, api_client, f"/api/runs/{large['id']}")

    assert many == few, f"{few} queries for 5 steps, {many} for 50"
    assert many <= 12
    detail = api_client.get(f"/api/runs/{large['id']}").json["data"]
    assert len(detail["steps"]) == 50 and all(len(step["candidates"]) == 2 for step in detail["steps"])


def test_a_page_of_runs_costs_the_same_queries_for_50_runs_as_for_5(app, api_client, finished_run):
    for index in range(5):
        finished_run(f"few-{index}", 2)
    few = queries_to_read(app, api_client, "/api/runs?limit=50")
    for index in range(45):
        finished_run(f"many-{index}", 2)
    many = queries_to_read(app, api_client, "/api/runs?limit=50")

    assert many == few, f"{few} queries for 5 runs, {many} for 50"
    page = api_client.get("/api/runs?limit=50").json["data"]
    assert page["total"] == 50 and len(page["items"]) == 50


def test_a_finished_run_is_revalidated_with_its_etag(app, api_client, finished_run):
    run = finished_run("revalidated", 3)
    first = api_client.get(f"/api/runs/{run['id']}")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag and "no-cache" in first.headers["Cache-Control"]

    with counted_queries(app) as seen:
        again = api_client.get(f"/api/runs/{run['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert not [statement for statement in seen if "run_steps" in statement]  # the detail was not built

    changed = api_client.get(f"/api/runs/{run['id']}", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.json["data"]["id"] == run["id"]


def test_a_finished_runs_detail_is_built_once_and_served_the_same(app, api_client, finished_run):
    run = finished_run("kept", 4)
    with counted_queries(app) as first_build:
        first = api_client.get(f"/api/runs/{run['id']}")
    with counted_queries(app) as kept:
        second = api_client.get(f"/api/runs/{run['id']}")

    assert first.json["data"] == second.json["data"] and len(second.json["data"]["steps"]) == 4
    assert second.json["success"] is True and second.json["error"] is None
    assert first.json["metadata"]["requestId"] != second.json["metadata"]["requestId"]  # an envelope of its own
    assert [s for s in first_build if "run_steps" in s] and not [s for s in kept if "run_steps" in s]
    # Served from what was kept after one small read of the run: no run row or steps loaded.
    assert not [s for s in kept if "definition" in s] and len(kept) < len(first_build)


def test_a_missing_run_or_a_bad_id_is_a_404_before_anything_kept_is_consulted(app, api_client, finished_run):
    finished_run("kept-too", 1)
    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api_client.get(f"/api/runs/{missing}")
        assert response.status_code == 404 and response.json["error"]["code"] == "NOT_FOUND"


def test_another_tenant_never_gets_a_kept_detail(app, api_client, finished_run, make_user, login_api):
    run = finished_run("private", 2)
    assert api_client.get(f"/api/runs/{run['id']}").status_code == 200  # now kept
    stranger = login_api(make_user())
    response = stranger.get(f"/api/runs/{run['id']}")
    assert response.status_code == 404 and response.json["data"] is None


def test_a_live_run_has_no_etag_so_nothing_keeps_a_stale_copy(app, api_client, upload_workflow, start_run):
    upload_workflow(api_client, wide("live", 2))
    run = start_run(api_client, "live")  # queued, no worker yet
    response = api_client.get(f"/api/runs/{run['id']}")
    assert response.status_code == 200 and "ETag" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


ASKING = """\
name: asking
version: "1"
steps:
  - id: ask
    skill: text.generate
    with: {prompt: "One line about owls", model: "offline:writer"}
"""


def test_a_run_retried_after_failing_answers_with_a_new_etag(app, api_client, upload_workflow, start_run, run_jobs,
                                                            uninstalled_provider):
    upload_workflow(api_client, ASKING)
    run = start_run(api_client, "asking")
    with uninstalled_provider("offline"):
        run_jobs()
    failed = api_client.get(f"/api/runs/{run['id']}")
    assert failed.json["data"]["status"] == "failed" and failed.headers["ETag"]

    assert api_client.post(f"/api/runs/{run['id']}/retry").status_code == 200
    run_jobs()
    completed = api_client.get(f"/api/runs/{run['id']}", headers={"If-None-Match": failed.headers["ETag"]})
    assert completed.status_code == 200 and completed.json["data"]["status"] == "completed"
    assert completed.headers["ETag"] != failed.headers["ETag"]


def test_an_artifacts_bytes_are_revalidated_without_reading_storage(app, api_client, finished_run):
    run = finished_run("artifacts", 2)
    (artifact,) = api_client.get(f"/api/runs/{run['id']}/artifacts").json["data"]
    first = api_client.get(f"/api/artifacts/{artifact['id']}/content")
    assert first.status_code == 200 and first.get_data() == b"bytes"
    assert "immutable" in first.headers["Cache-Control"]

    again = api_client.get(f"/api/artifacts/{artifact['id']}/content", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
