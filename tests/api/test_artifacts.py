"""Artifacts over JSON (app/api/artifacts.py): a run's list, metadata, and the bytes, checked
against tenant and credentials."""

from __future__ import annotations

import hashlib

import pytest

from app.runtime import current_state

NOTES = """\
name: notes
version: "1"
steps:
  - id: jot
    skill: test.echo
    with: {text: jotted, artifact: "hello"}
  - id: copy
    skill: test.echo
    needs: [jot]
    with: {text: copied, artifact: "hello"}
  - id: plain
    skill: test.echo
    with: {text: nothing stored}
"""
HELLO_HASH = hashlib.sha256(b"hello").hexdigest()


@pytest.fixture
def run(api_client, upload_workflow, start_run, get_run, run_jobs) -> dict:
    """A finished run whose ``jot`` and ``copy`` steps each stored the text "hello"."""
    upload_workflow(api_client, NOTES)
    started = start_run(api_client, "notes")
    run_jobs()
    finished = get_run(api_client, started["id"])
    assert finished["status"] == "completed", finished
    return finished


@pytest.fixture
def artifacts(api_client, run) -> list[dict]:
    response = api_client.get(f"/api/runs/{run['id']}/artifacts")
    assert response.status_code == 200, response.json
    return response.json["data"]


def step(run: dict, key: str) -> dict:
    return next(s for s in run["steps"] if s["key"] == key)


def test_a_run_lists_the_artifacts_its_steps_stored(run, artifacts):
    assert [a["runStepId"] for a in artifacts] == [step(run, "jot")["id"], step(run, "copy")["id"]]
    for artifact in artifacts:
        assert artifact["runId"] == run["id"]
        assert (artifact["mediaType"], artifact["sizeBytes"], artifact["filename"]) == ("text/plain", 5, "echo.txt")
        assert (artifact["contentHash"], artifact["skill"]) == (HELLO_HASH, "test.echo")
    assert step(run, "jot")["output"]["artifact_id"] == artifacts[0]["id"]
    assert step(run, "jot")["outputArtifactIds"] == [artifacts[0]["id"]]
    assert step(run, "plain")["outputArtifactIds"] == []


def test_the_same_content_is_stored_once(app, artifacts):
    root = current_state(app).storage.root

    assert len({a["contentHash"] for a in artifacts}) == 1
    assert [p.name for p in root.rglob("*") if p.is_file()] == [HELLO_HASH]


def test_an_artifacts_metadata(api_client, artifacts):
    response = api_client.get(f"/api/artifacts/{artifacts[0]['id']}")

    assert response.status_code == 200
    assert response.json["data"] == artifacts[0]


def test_the_content_comes_with_its_media_type_name_and_hash(api_client, artifacts):
    response = api_client.get(f"/api/artifacts/{artifacts[0]['id']}/content")

    assert response.status_code == 200
    assert response.data == b"hello"
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == 'attachment; filename="echo.txt"'
    assert response.headers["ETag"] == f'"{HELLO_HASH}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_viewer_may_download(api_client, artifacts, user, make_user, add_member, login_as):
    reader = make_user()
    add_member(api_client, user.tenant_id, reader, "viewer")

    response = login_as(reader, user.tenant_id).get(f"/api/artifacts/{artifacts[0]['id']}/content")

    assert (response.status_code, response.data) == (200, b"hello")


def test_another_tenant_gets_404_for_the_artifacts(run, artifacts, make_user, login_api, expect_error):
    stranger = login_api(make_user())
    artifact_id = artifacts[0]["id"]

    for path in (f"/api/artifacts/{artifact_id}", f"/api/artifacts/{artifact_id}/content",
                 f"/api/runs/{run['id']}/artifacts"):
        error = expect_error(stranger.get(path), 404, "NOT_FOUND")
        assert "hello" not in str(error)


def test_downloading_needs_credentials(client, artifacts, expect_error):
    response = client.get(f"/api/artifacts/{artifacts[0]['id']}/content")

    expect_error(response, 401, "UNAUTHORIZED")
    assert b"hello" not in response.data


@pytest.mark.parametrize("artifact_id", ["6f1c2a5e-9b0d-4f7e-8c3a-2d4e6f8a0b1c", "not-an-id"])
def test_an_unknown_artifact_is_404(api_client, artifact_id, expect_error):
    expect_error(api_client.get(f"/api/artifacts/{artifact_id}"), 404, "NOT_FOUND")
    expect_error(api_client.get(f"/api/artifacts/{artifact_id}/content"), 404, "NOT_FOUND")


def test_content_missing_from_storage_is_404_and_the_metadata_stays(app, api_client, artifacts, expect_error):
    current_state(app).storage.path_for(HELLO_HASH).unlink()

    error = expect_error(api_client.get(f"/api/artifacts/{artifacts[0]['id']}/content"), 404, "NOT_FOUND")

    assert "storage" in error["message"]
    assert api_client.get(f"/api/artifacts/{artifacts[0]['id']}").status_code == 200
