"""Seed 000's routes: stories CRUD and search, the story workflow, and what bad input gets."""

from __future__ import annotations

import pytest
from inkwright_stories.models import Chapter, Story

STORY = {"title": "The Salt Road", "metadata": {"primaryCharacters": ["Mara"], "genre": "adventure"}}


def create(client, **changes):
    response = client.post("/api/stories", json={**STORY, **changes})
    assert response.status_code == 201, response.json
    return response.json["data"]


def fields_of(response) -> dict:
    assert response.status_code == 400, response.json
    assert response.json["success"] is False and response.json["error"]["code"] == "VALIDATION_ERROR"
    return response.json["error"]["details"]["fields"]


# -- Stories ------------------------------------------------------------------------------

def test_create_makes_a_draft_and_records_story_created(api_client):
    story = create(api_client, chapters=[{"title": "Dawn", "content": "one two three four"}])
    assert story["status"] == "draft" and story["title"] == "The Salt Road"
    assert story["metadata"] == {"primaryCharacters": ["Mara"], "secondaryCharacters": [], "genre": "adventure",
                                 "theme": None, "estimatedReadingTime": 1}
    assert story["chapters"][0] | {"id": None} == {"id": None, "title": "Dawn", "content": "one two three four",
                                                   "order": 1, "wordCount": 4}
    events = api_client.get("/api/events").json["data"]["items"]
    assert [e["payload"]["storyId"] for e in events if e["type"] == "story.created"] == [story["id"]]
    assert api_client.get(f"/api/stories/{story['id']}").json["data"] == story


@pytest.mark.parametrize(("body", "field"), [
    ({"metadata": {}}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"title": "T", "status": "completed"}, "status"),
    ({"title": "T", "metadata": {"estimatedReadingTime": 9}}, "metadata"),
    ({"title": "T", "chapters": [{"content": "no title"}]}, "chapters"),
])
def test_create_refuses_bad_bodies_beside_the_field(api_client, row_count, body, field):
    assert field in fields_of(api_client.post("/api/stories", json=body))
    assert row_count(Story) == 0


def test_search_filters_sorts_and_pages(api_client):
    for title in ("Bravo", "alpha", "Charlie", "Alphabet soup"):
        create(api_client, title=title)
    page = api_client.get("/api/stories?sortBy=title&sortOrder=asc&limit=2").json["data"]
    assert [s["title"] for s in page["stories"]] == ["Alphabet soup", "Bravo"] or \
        [s["title"] for s in page["stories"]] == ["alpha", "Alphabet soup"]
    assert page["total"] == 4 and page["limit"] == 2
    rest = api_client.get("/api/stories?sortBy=title&sortOrder=asc&limit=2&offset=2").json["data"]["stories"]
    assert len(rest) == 2 and not {s["id"] for s in rest} & {s["id"] for s in page["stories"]}
    found = api_client.get("/api/stories?title=ALPHA").json["data"]
    assert sorted(s["title"] for s in found["stories"]) == ["Alphabet soup", "alpha"] and found["total"] == 2
    newest = api_client.get("/api/stories").json["data"]["stories"]
    assert newest[0]["title"] == "Alphabet soup"  # createdAt desc by default
    assert api_client.get("/api/stories?status=completed").json["data"] == {
        "stories": [], "total": 0, "limit": 20, "offset": 0}
    assert api_client.get("/api/stories?title=%25").json["data"]["total"] == 0  # % is literal


@pytest.mark.parametrize(("query", "field"), [
    ("sortBy=wordCount", "sortBy"), ("sortOrder=up", "sortOrder"), ("status=lost", "status"),
    ("limit=0", "limit"), ("limit=101", "limit"), ("offset=-1", "offset"), ("colour=red", "colour"),
    (f"offset={2 ** 63}", "offset"),  # once a 500: past the database's 64-bit integer
])
def test_search_refuses_unknown_sorts_and_bad_pages(api_client, query, field):
    assert f"query.{field}" in fields_of(api_client.get(f"/api/stories?{query}"))


def test_put_changes_title_metadata_and_chapters(api_client):
    story = create(api_client, chapters=[{"title": "Old", "content": "a"}])
    updated = api_client.put(f"/api/stories/{story['id']}", json={
        "title": "The Salt Road, revised", "metadata": {"theme": "home"},
        "chapters": [{"title": "One", "content": "w " * 150}, {"title": "Two", "content": "w " * 100}]})
    assert updated.status_code == 200, updated.json
    data = updated.json["data"]
    assert data["title"] == "The Salt Road, revised"
    assert data["metadata"]["genre"] == "adventure" and data["metadata"]["theme"] == "home"  # merged
    assert [(c["order"], c["title"], c["wordCount"]) for c in data["chapters"]] == [(1, "One", 150), (2, "Two", 100)]
    assert data["metadata"]["estimatedReadingTime"] == 2 and data["wordCount"] == 250


def test_put_refuses_an_empty_change_and_a_generating_story(api_client, story_request):
    story = create(api_client)
    assert "_schema" in fields_of(api_client.put(f"/api/stories/{story['id']}", json={}))
    generating = api_client.post("/api/workflows/story/generate", json=story_request).json["data"]["story"]
    refused = api_client.put(f"/api/stories/{generating['id']}", json={"title": "Mine now"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "CONFLICT"
    assert api_client.get(f"/api/stories/{generating['id']}").json["data"]["title"] == generating["title"]


def test_delete_hides_the_story(api_client, row_count):
    story = create(api_client, chapters=[{"title": "One", "content": "a"}])
    response = api_client.delete(f"/api/stories/{story['id']}")
    assert response.status_code == 200 and response.json["data"] == {"success": True}
    assert api_client.get(f"/api/stories/{story['id']}").status_code == 404
    assert api_client.get("/api/stories").json["data"]["total"] == 0
    assert row_count(Story) == 1 and row_count(Chapter) == 1  # soft: kept, only hidden


def test_another_tenants_stories_are_not_found(api_client, make_user, login_api, story_request):
    story = create(api_client)
    session = api_client.post("/api/workflows/story/generate", json=story_request).json["data"]["sessionId"]
    stranger = login_api(make_user())
    for method, path in (("get", f"/api/stories/{story['id']}"), ("put", f"/api/stories/{story['id']}"),
                         ("delete", f"/api/stories/{story['id']}"), ("get", f"/api/workflows/{session}/status"),
                         ("delete", f"/api/workflows/{session}"), ("get", "/api/stories/not-a-uuid")):
        response = getattr(stranger, method)(path, json={"title": "Stolen"} if method == "put" else None)
        assert response.status_code == 404, (method, path, response.json)
        assert response.json["error"]["code"] == "NOT_FOUND"
    assert stranger.get("/api/stories").json["data"]["total"] == 0
    assert api_client.get(f"/api/stories/{story['id']}").json["data"]["title"] == STORY["title"]


def test_a_viewer_may_read_but_not_write(app, api_client, user, make_user, login_api):
    from app.models import Membership, Role
    from app.toolkit import repositories
    viewer = make_user()
    with app.app_context():
        repos = repositories(user.tenant_id)
        with repos.transaction():
            repos.memberships.add(Membership(user_id=viewer.user.id, role=Role.VIEWER))
    client = login_api(viewer)
    headers = {"X-Tenant-ID": str(user.tenant_id)}
    story = create(api_client)
    assert client.get(f"/api/stories/{story['id']}", headers=headers).status_code == 200
    refused = client.post("/api/stories", json=STORY, headers=headers)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "FORBIDDEN"


# -- The story workflow -------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"n_chapters": 0}, "n_chapters"), ({"n_chapters": 99}, "n_chapters"), ({"n_chapters": "3"}, "n_chapters"),
    ({"story_instructions": None}, "story_instructions"), ({"story_instructions": "  "}, "story_instructions"),
    ({"l_chapter": 49}, "l_chapter"), ({"l_chapter": 5001}, "l_chapter"), ({"nChapters": 3}, "nChapters"),
])
def test_generate_refuses_bad_requests_and_writes_nothing(api_client, row_count, story_request, change, field):
    body = {**story_request, **change}
    if change.get("story_instructions", "") is None:
        del body["story_instructions"]
    assert field in fields_of(api_client.post("/api/workflows/story/generate", json=body))
    assert row_count(Story) == 0


def test_generate_answers_202_with_the_session(api_client, story_request):
    response = api_client.post("/api/workflows/story/generate", json=story_request)
    assert response.status_code == 202
    data = response.json["data"]
    assert set(data) == {"message", "status", "story", "story_text", "attempts", "sessionId"}
    assert data["status"] == "generating" and data["story"]["sessionId"] == data["sessionId"]
    assert data["story"]["metadata"]["primaryCharacters"] == ["Mara", "Tobias"]
    run = api_client.get(f"/api/runs/{data['sessionId']}").json["data"]
    assert run["workflow"] == "stories.generate" and run["inputs"]["n_chapters"] == 3


def test_cancel_stops_the_run_and_fails_the_story(api_client, run_jobs, story_request):
    data = api_client.post("/api/workflows/story/generate", json=story_request).json["data"]
    response = api_client.delete(f"/api/workflows/{data['sessionId']}")
    assert response.status_code == 200 and response.json["data"] == {"success": True}
    run_jobs()
    story = api_client.get(f"/api/stories/{data['story']['id']}").json["data"]
    assert story["status"] == "failed" and story["error"]["message"] == "The generation was cancelled."
    assert story["chapters"] == []
    status = api_client.get(f"/api/workflows/{data['sessionId']}/status").json["data"]
    assert status["status"] == "cancelled"
    again = api_client.delete(f"/api/workflows/{data['sessionId']}")
    assert again.status_code == 409
    events = api_client.get("/api/events?limit=100").json["data"]["items"]
    done = [e["payload"] for e in events if e["type"] == "story.generation.completed"]
    assert len(done) == 1 and done[0]["success"] is False


def test_the_cores_workflow_routes_still_answer(api_client):
    catalog = api_client.get("/api/workflows")
    assert catalog.status_code == 200
    names = {w["name"] for w in catalog.json["data"]}
    assert "stories.generate" in names
    one = api_client.get("/api/workflows/stories.generate")
    assert one.status_code == 200 and one.json["data"]["name"] == "stories.generate"
    version = api_client.get("/api/workflows/stories.generate/versions/1")
    assert version.status_code == 200
    assert api_client.get("/api/workflows/no.such.workflow").status_code == 404
    assert api_client.post("/api/workflows/validate", data="name: x", content_type="application/yaml").status_code \
        in (200, 400)
    assert api_client.get("/api/openapi.json").status_code == 200


def test_the_document_says_what_the_story_endpoints_accept(api_client):
    schemas = api_client.get("/api/openapi.json").json["components"]["schemas"]
    assert schemas["StoryUpdate"]["minProperties"] == 1  # {} is refused
    assert "null" in schemas["StoryRequest"]["properties"]["secondary_characters"]["type"]  # null is accepted


def test_a_generated_storys_answers_are_what_the_document_promises(api_client, run_jobs, story_request,
                                                                   assert_documented):
    """A story written end to end, read through every list and detail a client uses: each body
    matches the OpenAPI document (amounts as stored, ten decimals, once broke it)."""
    started = api_client.post("/api/workflows/story/generate", json=story_request)
    assert_documented(started, "POST", "/api/workflows/story/generate")
    run_jobs()
    run_id = started.json["data"]["sessionId"]
    for path, template in [("/api/runs", "/api/runs"), (f"/api/runs/{run_id}", "/api/runs/{run_id}"),
                           ("/api/account/usage", "/api/account/usage"), ("/api/stories", "/api/stories")]:
        response = api_client.get(path)
        assert response.status_code == 200
        assert_documented(response, "GET", template)
    assert api_client.get("/api/account/usage").json["data"]["items"]  # the model calls were metered


@pytest.mark.parametrize("characters", ["0" * 500, ",".join("abcdefghijklmnopqrstuvwxyz" * 10)[:500]])
def test_any_character_line_a_request_may_send_makes_a_story_the_document_describes(
        api_client, story_request, assert_documented, characters):
    response = api_client.post("/api/workflows/story/generate",
                               json={**story_request, "secondary_characters": characters})
    assert response.status_code == 202
    assert_documented(response, "POST", "/api/workflows/story/generate")
    assert_documented(api_client.get("/api/stories"), "GET", "/api/stories")


def models_called(api_client, run_id) -> dict[str, set[str]]:
    run = api_client.get(f"/api/runs/{run_id}").json["data"]
    return {step["key"].split("[")[0]: {r["model"] for r in step["responses"]} for step in run["steps"]
            if step["responses"]}


def test_a_story_is_written_by_the_model_asked_for(api_client, run_jobs, story_request):
    """Issue 12: the StoryRequest takes a model (every step), or one per step."""
    started = api_client.post("/api/workflows/story/generate", json={**story_request, "model": "offline:fast"})
    assert started.status_code == 202, started.json
    run_jobs()
    assert models_called(api_client, started.json["data"]["sessionId"]) == {"outline": {"offline:fast"},
                                                                            "chapters": {"offline:fast"}}
    per_step = api_client.post("/api/workflows/story/generate", json={
        **story_request, "model": "offline:fast", "outline_model": "offline:writer"})
    run_jobs()
    assert models_called(api_client, per_step.json["data"]["sessionId"]) == {"outline": {"offline:writer"},
                                                                             "chapters": {"offline:fast"}}


def test_a_story_honours_the_persons_default_models(api_client, run_jobs, story_request):
    api_client.patch("/api/account/preferences", json={"defaultModels": {"chapters": "offline:fast"}})
    started = api_client.post("/api/workflows/story/generate", json=story_request)
    run_jobs()
    assert models_called(api_client, started.json["data"]["sessionId"]) == {"outline": {"offline:writer"},
                                                                            "chapters": {"offline:fast"}}
    # A model in the request wins over the preference.
    named = api_client.post("/api/workflows/story/generate", json={**story_request, "chapter_model": "offline:writer"})
    run_jobs()
    assert models_called(api_client, named.json["data"]["sessionId"])["chapters"] == {"offline:writer"}


@pytest.mark.parametrize("change, code", [
    ({"model": "gpt4"}, "VALIDATION_ERROR"), ({"outline_model": "a b:c"}, "VALIDATION_ERROR"),
    ({"model": "nobody:model"}, "UNKNOWN_MODEL"), ({"chapter_model": "offline:nope"}, "MODEL_NOT_PRICED"),
])
def test_a_model_nobody_serves_is_refused_before_anything_is_written(api_client, row_count, story_request,
                                                                     change, code):
    response = api_client.post("/api/workflows/story/generate", json={**story_request, **change})
    assert 400 <= response.status_code < 500 and response.json["error"]["code"] == code, response.json
    assert row_count(Story) == 0


def test_a_blank_chapter_title_is_refused_by_the_document_as_by_the_server(api_client):
    """``NotBlank`` is a pattern, so the document refuses the whitespace-only titles the server
    does, with Python's whitespace (a fuzzer's schema-valid title "\\t" was refused)."""
    import re

    document = api_client.get("/api/openapi.json").json
    # The story's Chapter (apispec may number a variant Chapter1); other plugins have Chapter… schemas too.
    chapters = [schema for name, schema in document["components"]["schemas"].items()
                if re.fullmatch(r"Chapter\d*", name) and "title" in schema.get("properties", {})]
    pattern = re.compile(chapters[0]["properties"]["title"]["pattern"])
    story = create(api_client)
    for title in ("\t", "   ", "\u0085\u3000", "\x1c"):
        assert not pattern.search(title), repr(title)
        response = api_client.put(f"/api/stories/{story['id']}", json={"chapters": [{"title": title, "content": ""}]})
        assert "title" in fields_of(response)["chapters"]["0"]
    for title in ("A", "  The end  ", "\u200b"):  # U+200B is not whitespace to str.strip()
        assert pattern.search(title), repr(title)
