"""Workflow documents over JSON (app/api/workflows.py): upload, validate, list and read versions."""

from __future__ import annotations

import pytest

from app.models import Role, WorkflowVersion

POEM = """\
name: poem
version: "1"
description: A short poem
inputs:
  topic: {type: string, required: true}
steps:
  - id: verse
    skill: test.echo
    with: {text: "A verse on {{ inputs.topic }}"}
"""
POEM_V2 = POEM.replace('version: "1"', 'version: "2"').replace("A short poem", "A longer poem")

#: Broken documents, the place each problem is reported at, and its line in the document.
BROKEN = {
    "invalid yaml": ('name: poem\nversion: "1"\nsteps: []\ndescription: a: b\n', None, 4),
    "unknown skill": (POEM.replace("skill: test.echo", "skill: test.nonesuch"), "steps[0].skill", 8),
    "undefined variable": (POEM.replace("inputs.topic }}", "inputs.subject }}"), "steps[0].with.text", 9),
    "cycle": ("""\
name: loop
version: "1"
steps:
  - id: first
    skill: test.noop
    needs: [second]
  - id: second
    skill: test.noop
    needs: [first]
""", "steps[", None),
}


def upload_yaml(client, source: str, content_type: str = "application/yaml"):
    return client.post("/api/workflows", data=source, content_type=content_type)


def test_uploading_yaml_answers_201_with_the_version(api_client):
    response = upload_yaml(api_client, POEM)

    assert response.status_code == 201, response.json
    data = response.json["data"]
    assert (data["name"], data["version"], data["origin"]) == ("poem", "1", "tenant")
    assert data["description"] == "A short poem"
    assert data["source"] == POEM
    assert [(i["name"], i["type"], i["required"]) for i in data["inputs"]] == [("topic", "string", True)]
    assert [(s["id"], s["skill"]) for s in data["steps"]] == [("verse", "test.echo")]


def test_uploading_json_with_a_source_answers_201(api_client, row_count):
    response = api_client.post("/api/workflows", json={"source": POEM})

    assert response.status_code == 201, response.json
    assert response.json["data"]["source"] == POEM
    assert row_count(WorkflowVersion) == 1


def test_the_same_document_again_answers_200_and_stores_nothing_new(api_client, row_count):
    first = upload_yaml(api_client, POEM)

    again = upload_yaml(api_client, POEM)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["data"]["createdAt"] == first.json["data"]["createdAt"]
    assert row_count(WorkflowVersion) == 1


def test_changed_content_under_the_same_version_is_409(api_client, expect_error, row_count):
    upload_yaml(api_client, POEM)

    changed = upload_yaml(api_client, POEM.replace("A short poem", "Something else"))

    error = expect_error(changed, 409, "CONFLICT")
    assert "version" in error["details"]["fields"]
    assert row_count(WorkflowVersion) == 1
    assert api_client.get("/api/workflows/poem/versions/1").json["data"]["source"] == POEM


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_document_is_400_with_lines_and_paths_and_nothing_stored(api_client, expect_error, row_count,
                                                                          case):
    source, path, line = BROKEN[case]

    error = expect_error(upload_yaml(api_client, source), 400, "WORKFLOW_INVALID")

    problems = error["details"]["problems"]
    assert problems and all({"line", "path", "message"} <= set(p) for p in problems)
    assert all(isinstance(p["line"], int) and p["line"] >= 1 for p in problems), problems
    if path is not None:
        assert any(p["path"].startswith(path) for p in problems), problems
    if line is not None:
        assert line in {p["line"] for p in problems}, problems
    assert row_count(WorkflowVersion) == 0


def test_a_cycle_names_the_steps_in_it(api_client, expect_error):
    error = expect_error(upload_yaml(api_client, BROKEN["cycle"][0]), 400, "WORKFLOW_INVALID")

    messages = " ".join(p["message"] for p in error["details"]["problems"])
    assert "cycle" in messages and "first" in messages and "second" in messages


def test_every_problem_is_reported_at_once(api_client, expect_error):
    twice_wrong = POEM.replace("skill: test.echo", "skill: test.nonesuch").replace("inputs.topic", "inputs.nope")

    error = expect_error(upload_yaml(api_client, twice_wrong), 400, "WORKFLOW_INVALID")

    assert len(error["details"]["problems"]) >= 2


@pytest.mark.parametrize("content_type", ["text/html", "application/octet-stream", "multipart/form-data"])
def test_a_body_that_is_neither_yaml_nor_json_is_415(api_client, expect_error, row_count, content_type):
    expect_error(upload_yaml(api_client, POEM, content_type), 415, "UNSUPPORTED_MEDIA_TYPE")

    assert row_count(WorkflowVersion) == 0


def test_json_without_a_source_is_400(api_client, expect_error, row_count):
    error = expect_error(api_client.post("/api/workflows", json={"yaml": POEM}), 400, "VALIDATION_ERROR")

    assert "source" in error["details"]["fields"]
    assert row_count(WorkflowVersion) == 0


def test_validate_says_a_document_is_valid_and_stores_nothing(api_client, row_count, expect_error):
    response = api_client.post("/api/workflows/validate", data=POEM, content_type="application/yaml")

    assert response.status_code == 200, response.json
    assert response.json["data"] == {"valid": True, "name": "poem", "version": "1"}
    assert row_count(WorkflowVersion) == 0
    expect_error(api_client.get("/api/workflows/poem"), 404, "NOT_FOUND")


def test_validate_reports_problems_with_lines(api_client, expect_error, row_count):
    source, path, line = BROKEN["unknown skill"]

    error = expect_error(api_client.post("/api/workflows/validate", json={"source": source}), 400,
                         "WORKFLOW_INVALID")

    assert {"line": line, "path": path} == {k: error["details"]["problems"][0][k] for k in ("line", "path")}
    assert row_count(WorkflowVersion) == 0


def test_the_list_shows_the_newest_version_of_each_workflow(api_client):
    upload_yaml(api_client, POEM)
    upload_yaml(api_client, POEM_V2)

    response = api_client.get("/api/workflows")

    assert response.status_code == 200
    mine = [w for w in response.json["data"] if w["origin"] == "tenant"]
    assert [(w["name"], w["version"], w["description"]) for w in mine] == [("poem", "2", "A longer poem")]


def test_versions_are_listed_newest_first(api_client):
    upload_yaml(api_client, POEM)
    upload_yaml(api_client, POEM_V2)

    response = api_client.get("/api/workflows/poem")

    assert response.status_code == 200
    assert response.json["data"]["name"] == "poem"
    assert [v["version"] for v in response.json["data"]["versions"]] == ["2", "1"]


def test_one_version_comes_with_its_source(api_client):
    upload_yaml(api_client, POEM)
    upload_yaml(api_client, POEM_V2)

    response = api_client.get("/api/workflows/poem/versions/1")

    assert response.status_code == 200
    assert (response.json["data"]["version"], response.json["data"]["source"]) == ("1", POEM)


def test_an_unknown_workflow_or_version_is_404(api_client, expect_error):
    upload_yaml(api_client, POEM)

    expect_error(api_client.get("/api/workflows/sonnet"), 404, "NOT_FOUND")
    expect_error(api_client.get("/api/workflows/poem/versions/9"), 404, "NOT_FOUND")


def test_a_viewer_may_read_workflows_but_not_upload(make_user, login_api, login_as, add_member, expect_error,
                                                    row_count):
    owner, reader = make_user(), make_user()
    owner_client = login_api(owner)
    add_member(owner_client, owner.tenant_id, reader, Role.VIEWER.value)
    upload_yaml(owner_client, POEM)
    viewer = login_as(reader, owner.tenant_id)

    assert viewer.get("/api/workflows/poem/versions/1").status_code == 200
    assert "poem" in {w["name"] for w in viewer.get("/api/workflows").json["data"]}
    expect_error(upload_yaml(viewer, POEM_V2), 403, "FORBIDDEN")
    expect_error(viewer.post("/api/workflows", json={"source": POEM_V2}), 403, "FORBIDDEN")
    assert row_count(WorkflowVersion) == 1


def test_an_upload_belongs_to_its_tenant_alone(api_client, make_user, login_api, expect_error):
    upload_yaml(api_client, POEM)
    stranger = login_api(make_user())

    expect_error(stranger.get("/api/workflows/poem"), 404, "NOT_FOUND")
    assert "poem" not in {w["name"] for w in stranger.get("/api/workflows").json["data"]}
    assert upload_yaml(stranger, POEM).status_code == 201  # the same name is free in another tenant


def test_uploading_needs_credentials(client, expect_error, row_count):
    expect_error(upload_yaml(client, POEM), 401, "UNAUTHORIZED")

    assert row_count(WorkflowVersion) == 0
