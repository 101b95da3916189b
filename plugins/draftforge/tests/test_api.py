"""DraftForge's JSON API (inkwright_draftforge/api.py): projects and the seed's rules 1 and 2,
settings, chapters written as commits with conflicts shown as diffs, history, stats kept up to
date by every save, and who may see and change what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from inkwright_draftforge.projects import FREE_TIER_PROJECTS, ProjectService
from sqlalchemy import select

from app.auth.principal import Principal
from app.extensions import db
from app.models import DomainEventRecord, Role
from app.runtime import current_state

BASE = "/api/draftforge/projects"


def data(response, status=200):
    assert response.status_code == status, response.json
    return response.json["data"]


def error(response, status, code):
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code, response.json
    return response.json["error"]


def create(client, **fields):
    body = {"name": "The Lighthouse", "slug": "the-lighthouse", "projectType": "novel", **fields}
    return client.post(BASE, json=body)


def add_member(owner_client, tenant_id, account, role):
    response = owner_client.post(f"/api/tenants/{tenant_id}/members", json={"email": account.email, "role": role})
    assert response.status_code == 201, response.json


def login_in(app, account, tenant_id):
    from app.pytest_plugin import ApiClient

    client = app.test_client()
    response = client.post("/api/auth/login", json={"email": account.email, "password": account.password,
                                                     "tenantId": str(tenant_id)})
    assert response.status_code == 200, response.json
    return ApiClient(client, response.json["data"]["session"]["token"])


# -- Projects ------------------------------------------------------------------------------------

def test_create_list_get_patch_delete_restore(api_client):
    made = data(create(api_client, description="A keeper's year", genre="literary", targetWordCount=90000,
                       visibility="unlisted", settings={"agents": {"timeline": {"enabled": True,
                                                                                "contextWindow": 3}}}), 201)
    assert made["slug"] == "the-lighthouse" and made["projectType"] == "novel" and made["status"] == "active"
    assert made["targetWordCount"] == 90000 and made["visibility"] == "unlisted" and made["language"] == "en"
    assert made["settings"]["agents"]["timeline"]["enabled"] is True
    assert made["settings"]["agents"]["timeline"]["context_window"] == 3
    assert made["settings"]["agents"]["style"]["enabled"] is True  # defaults kept around the change
    assert "githubWebhookSecret" not in made
    project_id = made["id"]

    data(create(api_client, name="Second", slug="second", projectType="poetry"), 201)
    listed = data(api_client.get(BASE))
    assert listed["total"] == 2 and {p["slug"] for p in listed["items"]} == {"the-lighthouse", "second"}
    paged = data(api_client.get(f"{BASE}?limit=1&offset=1"))
    assert len(paged["items"]) == 1 and paged["total"] == 2

    assert data(api_client.get(f"{BASE}/{project_id}"))["name"] == "The Lighthouse"
    changed = data(api_client.patch(f"{BASE}/{project_id}", json={"name": "The Lamp", "genre": None}))
    assert changed["name"] == "The Lamp" and changed["genre"] is None

    data(api_client.post(f"{BASE}/{project_id}/archive"))
    assert [p["slug"] for p in data(api_client.get(f"{BASE}?status=archived"))["items"]] == ["the-lighthouse"]
    assert data(api_client.post(f"{BASE}/{project_id}/unarchive"))["status"] == "active"
    assert data(api_client.post(f"{BASE}/{project_id}/complete"))["status"] == "completed"

    deleted = data(api_client.delete(f"{BASE}/{project_id}"))
    assert deleted["deletedAt"] is not None
    error(api_client.get(f"{BASE}/{project_id}"), 404, "NOT_FOUND")
    assert data(api_client.get(BASE))["total"] == 1
    restored = data(api_client.post(f"{BASE}/{project_id}/restore"))
    assert restored["deletedAt"] is None and data(api_client.get(BASE))["total"] == 2
    error(api_client.post(f"{BASE}/{project_id}/restore"), 404, "NOT_FOUND")  # not in the trash now


def test_validation_errors_name_the_fields(api_client):
    refused = error(create(api_client, slug="Not A Slug!", projectType="opera", targetWordCount="many"), 400,
                    "VALIDATION_ERROR")
    assert {"slug", "projectType", "targetWordCount"} <= set(refused["details"]["fields"])
    refused = error(create(api_client, settings={"agents": {"style": {"trigger": "hourly", "contextWindow": 99}}}),
                    400, "VALIDATION_ERROR")
    assert "settings" in refused["details"]["fields"]
    error(create(api_client, surprise=True), 400, "VALIDATION_ERROR")
    project_id = data(create(api_client), 201)["id"]
    error(api_client.patch(f"{BASE}/{project_id}", json={}), 400, "VALIDATION_ERROR")
    error(api_client.get(f"{BASE}?status=lost"), 400, "VALIDATION_ERROR")
    error(api_client.get(f"{BASE}/not-a-uuid"), 404, "NOT_FOUND")
    error(api_client.get(f"{BASE}/00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND")


def test_rule_2_a_slug_is_unique_among_the_owners_projects_the_trash_included(api_client):
    project_id = data(create(api_client), 201)["id"]
    taken = error(create(api_client, name="Again"), 409, "SLUG_TAKEN")
    assert "slug" in taken["details"]["fields"]
    data(api_client.delete(f"{BASE}/{project_id}"))
    error(create(api_client, name="Again"), 409, "SLUG_TAKEN")


def test_rule_1_the_101st_active_project_on_the_free_tier_is_refused(app, api_client, user):
    with app.test_request_context():
        g.inkwright_principal = Principal(user.user, user.tenant_id, Role.OWNER, "session")
        service = ProjectService(g.inkwright_principal, current_state().clock)
        for number in range(FREE_TIER_PROJECTS - 1):
            service.create(name=f"Book {number}", slug=f"book-{number}", project_type="novel")
    last = data(create(api_client, slug="book-last"), 201)
    assert data(api_client.get(f"{BASE}?limit=1"))["total"] == FREE_TIER_PROJECTS

    refused = error(create(api_client, slug="one-too-many"), 403, "PROJECT_LIMIT_REACHED")
    assert refused["details"]["limit"] == FREE_TIER_PROJECTS
    data(api_client.post(f"{BASE}/{last['id']}/archive"))  # archived ones do not count
    data(create(api_client, slug="one-too-many"), 201)
    error(api_client.post(f"{BASE}/{last['id']}/unarchive"), 403, "PROJECT_LIMIT_REACHED")


# -- Settings ------------------------------------------------------------------------------------

def test_settings_are_read_and_merged(api_client):
    project_id = data(create(api_client), 201)["id"]
    settings = data(api_client.get(f"{BASE}/{project_id}/settings"))["settings"]
    assert set(settings) == {"agents", "compilation", "github_actions"}
    assert set(settings["agents"]["continuity"]) >= {"enabled", "model", "trigger", "context_window", "schedule"}

    changed = data(api_client.patch(f"{BASE}/{project_id}/settings", json={
        "agents": {"style": {"model": "openai:gpt-4o-mini", "trigger": "commit"},
                   "fact": {"enabled": True, "schedule": "0 6 * * *", "trigger": "scheduled"}},
        "githubActions": {"compileEnabled": True}}))["settings"]
    assert changed["agents"]["style"] == {**settings["agents"]["style"], "model": "openai:gpt-4o-mini",
                                          "trigger": "commit"}
    assert changed["agents"]["fact"]["schedule"] == "0 6 * * *" and changed["agents"]["fact"]["enabled"] is True
    assert changed["agents"]["continuity"] == settings["agents"]["continuity"]
    assert changed["github_actions"] == {**settings["github_actions"], "compile_enabled": True}
    assert data(api_client.get(f"{BASE}/{project_id}/settings"))["settings"] == changed

    refused = error(api_client.patch(f"{BASE}/{project_id}/settings",
                                     json={"agents": {"poetry": {"enabled": True}}}), 400, "VALIDATION_ERROR")
    assert refused["details"]["fields"]
    error(api_client.patch(f"{BASE}/{project_id}/settings", json={"agents": {"style": {"enabled": 1}}}), 400,
          "VALIDATION_ERROR")
    error(api_client.patch(f"{BASE}/{project_id}/settings", json={}), 400, "VALIDATION_ERROR")


# -- Chapters, history, stats --------------------------------------------------------------------

def test_chapters_are_written_as_commits_with_history_diffs_and_stats(app, api_client, clock, run_jobs):
    project_id = data(create(api_client), 201)["id"]
    chapters = f"{BASE}/{project_id}/chapters"
    start = data(api_client.get(chapters))
    assert start["items"] == [] and len(start["sha"]) == 40

    first = data(api_client.post(chapters, json={"title": "Arrival", "text": "She came home at dusk.\n",
                                                 "base": start["sha"]}), 201)
    assert first["path"] == "chapters/01-arrival.md" and len(first["sha"]) == 40
    second = data(api_client.post(chapters, json={"title": "The Storm", "text": "Rain fell on the lamp.\n",
                                                  "base": first["sha"]}), 201)
    assert second["path"] == "chapters/02-the-storm.md"

    listed = data(api_client.get(chapters))
    assert listed["sha"] == second["sha"]
    assert [(c["path"], c["title"], c["index"]) for c in listed["items"]] == [
        ("chapters/01-arrival.md", "Arrival", 1), ("chapters/02-the-storm.md", "The Storm", 2)]
    at_first = data(api_client.get(f"{chapters}?ref={first['sha']}"))
    assert [c["path"] for c in at_first["items"]] == ["chapters/01-arrival.md"]

    one = data(api_client.get(f"{chapters}/chapters/01-arrival.md"))
    assert one["text"] == "# Arrival\n\nShe came home at dusk.\n" and one["wordCount"] == 6
    assert data(api_client.get(f"{chapters}/01-arrival.md"))["text"] == one["text"]  # the file name alone

    saved = data(api_client.put(f"{chapters}/chapters/01-arrival.md", json={
        "text": "# Arrival\n\nShe came home at dusk, tired and glad.\n", "base": second["sha"]}))
    assert saved["path"] == "chapters/01-arrival.md"
    renamed = data(api_client.put(f"{chapters}/chapters/02-the-storm.md", json={
        "text": "# The Storm\n\nRain fell on the lamp all night.\n", "base": saved["sha"], "title": "Night Rain"}))
    assert renamed["path"] == "chapters/02-night-rain.md"
    assert data(api_client.get(f"{chapters}/{renamed['path']}"))["text"].startswith("# Night Rain\n")

    reordered = data(api_client.post(f"{chapters}/reorder", json={
        "paths": ["chapters/02-night-rain.md", "chapters/01-arrival.md"], "base": renamed["sha"]}))
    assert [c["path"] for c in data(api_client.get(chapters))["items"]] == [
        "chapters/01-night-rain.md", "chapters/02-arrival.md"]

    deleted = data(api_client.delete(f"{chapters}/chapters/02-arrival.md?base={reordered['sha']}"))
    assert [c["path"] for c in data(api_client.get(chapters))["items"]] == ["chapters/01-night-rain.md"]
    error(api_client.get(f"{chapters}/chapters/02-arrival.md"), 404, "NOT_FOUND")

    log = data(api_client.get(f"{BASE}/{project_id}/commits?limit=3"))
    assert log["items"][0]["sha"] == deleted["sha"] and log["hasMore"] is True
    assert log["items"][0]["message"].startswith("Delete 02-arrival.md")
    assert log["items"][0]["authorName"] == "Ada Writer"
    whole = data(api_client.get(f"{BASE}/{project_id}/commits?limit=100"))["items"]
    assert len(whole) == 8 and whole[-1]["message"].strip() == "Start the manuscript"
    edit = data(api_client.get(f"{BASE}/{project_id}/commits/{saved['sha']}"))
    assert edit["changedPaths"] == ["chapters/01-arrival.md"]
    [file] = edit["files"]
    assert file["status"] == "modified" and file["addedLines"] == 1 and file["removedLines"] == 1
    assert "+She came home at dusk, tired and glad." in file["unifiedDiff"]
    error(api_client.get(f"{BASE}/{project_id}/commits/{'0' * 40}"), 404, "NOT_FOUND")

    run_jobs()  # each write queued its stats job (stats_jobs.py)
    stats = data(api_client.get(f"{BASE}/{project_id}/stats"))
    # "Night Rain" + "Rain fell on the lamp all night" is the one chapter left.
    assert stats["wordCount"] == 9 and stats["chapterCount"] == 1 and stats["lastCommitSha"] == deleted["sha"]
    assert stats["totalCommits"] == 8 and stats["currentStreakDays"] == 1  # the first commit of the repository too
    today = clock.now().date().isoformat()
    assert stats["statsHistory"] == [{"date": today, "wordCount": 9, "chapterCount": 1, "wordsWrittenToday": 9,
                                      "commits": 8}]
    assert stats["lastWriteDate"] == today
    history = data(api_client.get(f"{BASE}/{project_id}/history"))
    assert history["items"] == stats["statsHistory"] and history["total"] == 1

    with app.app_context():
        published = db.session.scalars(select(DomainEventRecord).where(
            DomainEventRecord.type == "stats.updated", DomainEventRecord.aggregate_id == project_id)
            .order_by(DomainEventRecord.occurred_at)).all()
        assert len(published) == 8  # one per commit, the first included and published[-1].payload["sha"] == deleted["sha"]
        assert published[-1].payload["wordCount"] == 9


def test_stats_count_only_what_changed_and_keep_a_day_per_entry(api_client, clock, user, make_project, run_jobs):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nAlpha beta gamma.\n"})
    chapters = f"{BASE}/{project_id}/chapters"
    data(api_client.put(f"{chapters}/01-one.md", json={"text": "# One\n\nAlpha beta gamma delta.\n"}))
    assert data(api_client.get(f"{BASE}/{project_id}/stats"))["wordCount"] == 0, "not counted until its job runs"
    assert run_jobs() == 1
    stats = data(api_client.get(f"{BASE}/{project_id}/stats"))
    assert stats["wordCount"] == 5 and stats["chapterCount"] == 1

    clock.advance(86400)
    data(api_client.post(chapters, json={"title": "Two", "text": "Epsilon zeta.\n"}), 201)
    run_jobs()
    stats = data(api_client.get(f"{BASE}/{project_id}/stats"))
    assert stats["wordCount"] == 8 and stats["chapterCount"] == 2 and stats["currentStreakDays"] == 2
    assert [(d["date"], d["wordCount"], d["wordsWrittenToday"]) for d in stats["statsHistory"]] == [
        (clock.now().date().isoformat(), 8, 3), ((clock.now() - timedelta(days=1)).date().isoformat(), 5, 5)]
    assert len(data(api_client.get(f"{BASE}/{project_id}/history?limit=1"))["items"]) == 1


def test_a_stale_base_touching_the_same_file_is_an_edit_conflict_with_a_diff(api_client, user, make_project):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nThe first line.\n",
                                     "chapters/02-two.md": "# Two\n\nAnother.\n"})
    chapters = f"{BASE}/{project_id}/chapters"
    base = data(api_client.get(chapters))["sha"]
    mine = data(api_client.put(f"{chapters}/01-one.md", json={"text": "# One\n\nThe first line, mine.\n",
                                                              "base": base}))

    conflict = error(api_client.put(f"{chapters}/01-one.md", json={"text": "# One\n\nTheirs.\n", "base": base}),
                     409, "EDIT_CONFLICT")
    details = conflict["details"]
    assert details["path"] == "chapters/01-one.md" and details["headSha"] == mine["sha"]
    assert "-The first line.\n" in details["diff"] and "+The first line, mine.\n" in details["diff"]
    assert data(api_client.get(f"{chapters}/01-one.md"))["text"] == "# One\n\nThe first line, mine.\n"

    # Another file on the same stale base goes ahead, on the new head.
    other = data(api_client.put(f"{chapters}/02-two.md", json={"text": "# Two\n\nChanged.\n", "base": base}))
    assert data(api_client.get(f"{BASE}/{project_id}/commits/{other['sha']}"))["parents"] == [mine["sha"]]
    error(api_client.put(f"{chapters}/01-one.md", json={"text": "x", "base": "f" * 40}), 400, "VALIDATION_ERROR")


def test_hostile_chapter_input_is_refused_clearly(app, api_client, user, make_project, run_jobs):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nText.\n"})
    chapters = f"{BASE}/{project_id}/chapters"
    for path in ("chapters/../secrets.md", "chapters/.git/config.md", "manuscript/facts.md", "chapters/one.txt"):
        refused = error(api_client.put(f"{chapters}/{path}", json={"text": "x"}), 400, "VALIDATION_ERROR")
        assert "path" in refused["details"]["fields"], path
    # Reading or deleting writes nothing: a path that cannot name a chapter names none (found
    # by the fuzzer, which sent control characters and answered 400 where the document allows 404).
    for path in ("chapters/%1Dg.md", "chapters/../secrets.md", "chapters/.git/config.md"):
        for method in (api_client.get, api_client.delete):
            missing = error(method(f"{chapters}/{path}"), 404, "NOT_FOUND")
            assert "No chapter" in missing["message"], (method, path)
    error(api_client.delete(f"{chapters}/chapters/one.txt"), 404, "NOT_FOUND")
    assert data(api_client.get(f"{chapters}/01-one.md"))["text"] == "# One\n\nText.\n"
    refused = error(api_client.post(f"{chapters}/reorder", json={"paths": ["chapters/01-one.md"] * 2}), 400,
                    "VALIDATION_ERROR")
    assert "paths" in refused["details"]["fields"]
    error(api_client.post(f"{chapters}/reorder", json={"paths": ["chapters/09-none.md"]}), 400, "VALIDATION_ERROR")
    error(api_client.post(chapters, json={"title": "   "}), 400, "VALIDATION_ERROR")
    error(api_client.get(f"{chapters}?ref=no-such-branch"), 404, "NOT_FOUND")

    # A body over the app's MAX_CONTENT_LENGTH (1 MB unless configured) is 413.
    huge = "w" * (1024 * 1024 + 1)
    refused = error(api_client.put(f"{chapters}/01-one.md", json={"text": huge}), 413, "PAYLOAD_TOO_LARGE")
    assert refused["details"]["maxBytes"] == 1024 * 1024
    long = "# One\n\n" + "Word " * (150 * 1024)  # 750 KB: taken, and counted
    data(api_client.put(f"{chapters}/01-one.md", json={"text": long}))
    run_jobs()
    assert data(api_client.get(f"{BASE}/{project_id}/stats"))["wordCount"] == 150 * 1024 + 1


def test_a_chapter_over_2_mb_is_a_field_error_where_bodies_may_be_larger(make_app, user, make_project):
    roomy = make_app(MAX_CONTENT_LENGTH=8 * 1024 * 1024)
    client = roomy.test_client()
    token = data(client.post("/api/auth/login", json={"email": user.email, "password": user.password}))
    headers = {"Authorization": f"Bearer {token['session']['token']}"}
    with roomy.app_context():
        project_id = data(client.post(BASE, json={"name": "Big", "slug": "big", "projectType": "novel"},
                                      headers=headers), 201)["id"]
    chapters = f"{BASE}/{project_id}/chapters"
    big = "é" * (1024 * 1024 + 1)  # a million characters, but over 2 MB of UTF-8
    refused = error(client.post(chapters, json={"title": "Big", "text": big}, headers=headers), 400,
                    "VALIDATION_ERROR")
    assert "text" in refused["details"]["fields"]
    data(client.post(chapters, json={"title": "Big", "text": "é" * (1024 * 1024 - 10)}, headers=headers), 201)


# -- Who may ---------------------------------------------------------------------------------------

def test_another_tenants_project_is_not_found_everywhere(api_client, user, make_user, login_api, make_project):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nText.\n"})
    sha = data(api_client.get(f"{BASE}/{project_id}/chapters"))["sha"]
    stranger = login_api(make_user(name="Stranger"))
    base = f"{BASE}/{project_id}"
    calls = [("get", base, None), ("patch", base, {"name": "Mine"}), ("delete", base, None),
             ("post", f"{base}/restore", None), ("post", f"{base}/archive", None),
             ("post", f"{base}/complete", None), ("post", f"{base}/unarchive", None),
             ("get", f"{base}/settings", None), ("patch", f"{base}/settings", {"compilation": {"includeCover": False}}),
             ("get", f"{base}/chapters", None), ("post", f"{base}/chapters", {"title": "Mine"}),
             ("get", f"{base}/chapters/01-one.md", None), ("put", f"{base}/chapters/01-one.md", {"text": "Mine"}),
             ("delete", f"{base}/chapters/01-one.md", None),
             ("post", f"{base}/chapters/reorder", {"paths": ["chapters/01-one.md"]}),
             ("get", f"{base}/commits", None), ("get", f"{base}/commits/{sha}", None),
             ("get", f"{base}/stats", None), ("get", f"{base}/history", None)]
    for method, path, body in calls:
        response = getattr(stranger, method)(path, **({"json": body} if body is not None else {}))
        error(response, 404, "NOT_FOUND")
    assert data(stranger.get(BASE))["total"] == 0
    assert data(api_client.get(f"{base}/chapters/01-one.md"))["text"] == "# One\n\nText.\n"


def test_a_viewer_reads_but_may_not_write(app, api_client, user, make_user, make_project):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nText.\n"})
    reader = make_user(name="Reader")
    add_member(api_client, user.tenant_id, reader, "viewer")
    viewer = login_in(app, reader, user.tenant_id)
    base = f"{BASE}/{project_id}"

    assert data(viewer.get(base))["id"] == project_id
    assert data(viewer.get(f"{base}/chapters/01-one.md"))["text"].startswith("# One")
    data(viewer.get(f"{base}/stats"))
    data(viewer.get(f"{base}/commits"))
    for method, path, body in [("patch", base, {"name": "Mine"}), ("delete", base, None),
                               ("post", f"{base}/archive", None),
                               ("patch", f"{base}/settings", {"compilation": {"includeCover": False}}),
                               ("post", f"{base}/chapters", {"title": "Mine"}),
                               ("put", f"{base}/chapters/01-one.md", {"text": "Mine"}),
                               ("delete", f"{base}/chapters/01-one.md", None)]:
        response = getattr(viewer, method)(path, **({"json": body} if body is not None else {}))
        error(response, 403, "FORBIDDEN")
    assert data(api_client.get(f"{base}/chapters/01-one.md"))["text"] == "# One\n\nText.\n"


def test_the_openapi_document_describes_the_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/draftforge/projects", "/api/draftforge/projects/{project_id}",
                 "/api/draftforge/projects/{project_id}/restore", "/api/draftforge/projects/{project_id}/archive",
                 "/api/draftforge/projects/{project_id}/complete", "/api/draftforge/projects/{project_id}/unarchive",
                 "/api/draftforge/projects/{project_id}/settings", "/api/draftforge/projects/{project_id}/chapters",
                 "/api/draftforge/projects/{project_id}/chapters/reorder",
                 "/api/draftforge/projects/{project_id}/chapters/{path}",
                 "/api/draftforge/projects/{project_id}/commits", "/api/draftforge/projects/{project_id}/commits/{sha}",
                 "/api/draftforge/projects/{project_id}/stats", "/api/draftforge/projects/{project_id}/history"):
        assert path in paths, path
    assert set(paths["/api/draftforge/projects"]) >= {"get", "post"}
    assert set(paths["/api/draftforge/projects/{project_id}/chapters/{path}"]) >= {"get", "put", "delete"}


@pytest.fixture(autouse=True)
def _quiet(tenant_scope_guard):
    """Every request here stays in its tenant."""
    yield
