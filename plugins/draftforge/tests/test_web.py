"""DraftForge's browser pages through the Flask test client: each renders, forms show their
errors beside the fields and write nothing, chapters are read by line and edited with a
conflict shown as a diff, agent runs start and report; another tenant's project is not
found and a viewer reads but does not change."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from typing import Any

import pytest
from inkwright_draftforge.models import Project
from inkwright_draftforge.repositories import ProjectRepository, ProjectStatsRepository
from inkwright_draftforge.repository_store import open_manuscript

from app.models import Membership, Role
from app.runtime import repositories

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
CHAPTERS = {"chapters/01-arrival.md": "# Arrival\n\nShe came came home in the rain.\n",
            "chapters/02-the-letter.md": "# The Letter\n\nThe letter was quickly and quietly opened.\n" + "x " * 300}


@pytest.fixture(autouse=True)
def scoped_to_tenants(tenant_scope_guard):
    """The pages' requests stay within their tenant, as the core's do."""
    return tenant_scope_guard


def token_of(page: Any) -> str:
    found = CSRF_INPUT.search(page.get_data(as_text=True))
    assert found, "no csrf_token on the page"
    return found.group(1)


def submit(client, path: str, data: dict[str, Any] | None = None, *, page: str | None = None, **kwargs: Any):
    """Post a form the way a browser does: with the CSRF token of the page it came from."""
    shown = client.get(page or path)
    assert shown.status_code == 200, f"GET {page or path} answered {shown.status_code}"
    return client.post(path, data={**(data or {}), "csrf_token": token_of(shown)}, **kwargs)


def sign_in(client, account):
    response = submit(client, "/login", {"email": account.email, "password": account.password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def beside(response: Any, field_id: str) -> list[str]:
    """The messages a page shows beside one form field (``<ul id="<field>-errors">``)."""
    block = re.search(rf'<ul class="errors" id="{field_id}-errors"[^>]*>(.*?)</ul>', response.get_data(as_text=True),
                      re.DOTALL)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def browser(client, user):
    return sign_in(client, user)


@pytest.fixture
def project_id(make_project, user) -> str:
    return make_project(user, CHAPTERS, target_word_count=50_000, genre="mystery")


def test_the_projects_list_and_the_navigation(browser, project_id):
    page = browser.get("/draftforge/")
    assert page.status_code == 200
    assert 'href="/draftforge/"' in text_of(page) and ">Projects</a>" in text_of(page)
    assert f'href="/draftforge/{project_id}"' in text_of(page) and "The Lighthouse" in text_of(page)


def test_the_new_project_form_shows_errors_beside_its_fields_and_writes_nothing(browser, row_count):
    response = submit(browser, "/draftforge/new", {"name": "", "slug": "Not A Slug", "project_type": "opera",
                                                   "target_word_count": "-3"})
    assert response.status_code == 400
    assert beside(response, "name") == ["Give the project a name."]
    assert beside(response, "slug") == ["1 to 100 lower-case letters, digits, hyphens and underscores."]
    assert beside(response, "project_type") == ["Not a valid choice."]
    assert beside(response, "target_word_count") == ["A whole number, 0 or more."]
    assert row_count(Project) == 0


def test_a_new_project_redirects_to_its_page_and_a_taken_slug_is_refused_beside_the_slug(browser, user, row_count):
    made = submit(browser, "/draftforge/new", {"name": "Harbour Lights", "slug": "harbour", "project_type": "novel",
                                               "description": "A port town.", "genre": "literary",
                                               "target_word_count": "80000"})
    assert made.status_code == 302, text_of(made)
    page = browser.get(made.headers["Location"])
    text = text_of(page)
    assert page.status_code == 200 and "Harbour Lights" in text and "No chapters yet." in text
    username = re.search(r"/git/([a-z0-9-]+)/harbour\.git", text).group(1)
    assert f"git clone http://studio.test/git/{username}/harbour.git" in text

    again = submit(browser, "/draftforge/new", {"name": "Again", "slug": "harbour", "project_type": "novel"})
    assert again.status_code == 409
    assert beside(again, "slug") == ["Already one of your projects (the trash included)."]
    assert row_count(Project) == 1


def test_the_project_page_lists_chapters_in_order_with_word_counts_and_stats(browser, project_id):
    text = text_of(browser.get(f"/draftforge/{project_id}"))
    assert text.index("Arrival") < text.index("The Letter")
    assert "8 words" in text  # "Arrival She came came home in the rain."
    assert 'id="stat-words">317' in text and "of 50,000" in text
    assert f'href="/draftforge/{project_id}/files/chapters/01-arrival.md"' in text


def test_the_chapter_view_numbers_its_lines_with_anchors_and_reads_any_commit(browser, project_id):
    page = browser.get(f"/draftforge/{project_id}/files/chapters/01-arrival.md")
    text = text_of(page)
    assert page.status_code == 200
    assert re.search(r'<div class="df-line" id="L3"><a class="df-ln" href="#L3"[^>]*>3</a>'
                     r'<span class="df-text">She came came home in the rain.</span>', text)
    assert 'id="L4"' not in text  # the last newline ends line 3; it starts no line 4
    assert "# Arrival" in text  # Markdown as text, so the lines are git's
    first = re.search(r'href="/draftforge/[^/]+/commits/([0-9a-f]{40})"',
                      text_of(browser.get(f"/draftforge/{project_id}/history"))).group(1)
    old = browser.get(f"/draftforge/{project_id}/files/chapters/01-arrival.md?ref={first}")
    assert old.status_code == 200 and "She came came home" in text_of(old)
    assert browser.get(f"/draftforge/{project_id}/files/chapters/none.md").status_code == 404
    assert browser.get(f"/draftforge/{project_id}/files/chapters/01-arrival.md?ref=nowhere").status_code == 404


def test_editing_a_chapter_commits_it_and_a_stale_base_shows_the_conflict_as_a_diff(browser, project_id):
    path = f"/draftforge/{project_id}/edit/chapters/01-arrival.md"
    editor = browser.get(path)
    base = re.search(r'name="base" type="hidden" value="([0-9a-f]{40})"', text_of(editor)).group(1)
    token = token_of(editor)
    saved = browser.post(path, data={"csrf_token": token, "base": base, "message": "Fix the doubled word",
                                     "text": "# Arrival\r\n\r\nShe came home in the rain.\r\n"})
    assert saved.status_code == 302
    assert "She came home in the rain." in text_of(browser.get(saved.headers["Location"]))
    assert "Fix the doubled word" in text_of(browser.get(f"/draftforge/{project_id}/history"))

    stale = browser.post(path, data={"csrf_token": token, "base": base,
                                     "text": "# Arrival\n\nShe came home at dawn.\n"})
    text = text_of(stale)
    assert stale.status_code == 409 and "Someone changed this file while you were editing" in text
    assert '<span class="df-del">-She came came home in the rain.' in text
    assert '<span class="df-add">+She came home at dawn.' in text
    assert "She came home at dawn." in text  # the writer's text is kept in the editor
    head = re.search(r'name="base" type="hidden" value="([0-9a-f]{40})"', text).group(1)
    assert head != base
    again = browser.post(path, data={"csrf_token": token, "base": head, "text": "# Arrival\n\nShe came home at dawn.\n"})
    assert again.status_code == 302

    missing = browser.post(path, data={"csrf_token": token, "text": "x"})
    assert missing.status_code == 400


def test_a_new_chapter_is_added_after_the_last_and_booked_in_the_stats(browser, project_id, app, user, run_jobs):
    bad = submit(browser, f"/draftforge/{project_id}/chapters/new", {"title": "", "text": "Words."})
    assert bad.status_code == 400 and beside(bad, "title") == ["Give the chapter a title."]
    made = submit(browser, f"/draftforge/{project_id}/chapters/new", {"title": "The Storm", "text": "Rain fell."})
    assert made.status_code == 302
    assert made.headers["Location"].endswith("/files/chapters/03-the-storm.md")
    text = text_of(browser.get(made.headers["Location"]))
    assert "# The Storm" in text and "Rain fell." in text
    run_jobs()  # the save queued its stats job
    with app.app_context():
        repos = repositories(user.tenant_id)
        head = open_manuscript(repos.get(ProjectRepository).get(project_id)).head()
        row = repos.get(ProjectStatsRepository).of_project(repos.get(ProjectRepository).get(project_id).id)
        assert row.last_commit_sha == head and row.chapter_count == 3 and row.word_count == 317 + 4
    assert 'id="stat-words">321' in text_of(browser.get(f"/draftforge/{project_id}"))


def test_history_and_a_commits_diff(browser, project_id):
    text = text_of(browser.get(f"/draftforge/{project_id}/history"))
    assert "The manuscript so far" in text and "Start the manuscript" in text
    sha = re.search(r'href="/draftforge/[^/]+/commits/([0-9a-f]{40})"', text).group(1)
    commit = browser.get(f"/draftforge/{project_id}/commits/{sha}")
    assert commit.status_code == 200
    assert '<span class="df-add">+She came came home in the rain.' in text_of(commit)
    assert "added" in text_of(commit)
    assert browser.get(f"/draftforge/{project_id}/commits/{'0' * 40}").status_code == 404
    assert browser.get(f"/draftforge/{project_id}/commits/not-a-sha").status_code == 404
    by_file = text_of(browser.get(f"/draftforge/{project_id}/history?path=chapters/02-the-letter.md"))
    assert "The manuscript so far" in by_file and "Start the manuscript" not in by_file


def test_the_stats_page_inlines_the_chart_without_its_style(browser, project_id):
    page = browser.get(f"/draftforge/{project_id}/stats")
    text = text_of(page)
    assert page.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in text and "Words over time" in text
    assert "<style" not in text and ' style="' not in text  # the policy refuses both inline
    assert "Target: 50,000 words" in text and "317" in text
    assert "/draftforge/static/draftforge.css" in text
    assert browser.get("/draftforge/static/draftforge.css").status_code == 200


def test_the_settings_page_saves_each_agent_and_shows_errors_beside_fields(browser, project_id, app, user):
    page = browser.get(f"/draftforge/{project_id}/settings")
    assert page.status_code == 200 and 'id="style-context_window"' in text_of(page)
    values = {}
    for agent in ("continuity", "style", "timeline", "fact"):
        values.update({f"{agent}-trigger": "manual", f"{agent}-context_window": "5"})
    bad = submit(browser, f"/draftforge/{project_id}/settings",
                 {**values, "style-context_window": "99", "timeline-schedule": "often", "fact-model": "gpt4"})
    assert bad.status_code == 400
    assert beside(bad, "style-context_window") == ["A whole number from 1 to 50."]
    assert beside(bad, "timeline-schedule") == ["Five cron fields, e.g. 0 6 * * 1 (06:00 UTC every Monday)."]
    assert beside(bad, "fact-model") == ["Name the model as provider:model, e.g. offline:writer."]
    unserved = submit(browser, f"/draftforge/{project_id}/settings", {**values, "style-model": "foo:bar"})
    assert unserved.status_code == 422
    assert beside(unserved, "style-model") == ["foo:bar: No model provider named 'foo' is installed."]

    saved = submit(browser, f"/draftforge/{project_id}/settings",
                   {**values, "style-enabled": "y", "style-model": "offline:fast", "style-trigger": "commit",
                    "timeline-enabled": "y", "timeline-trigger": "scheduled", "timeline-schedule": "0 6 * * 1",
                    "timeline-context_window": "3"})
    assert saved.status_code == 302
    agents = _settings(app, user, project_id)
    assert {key: agents["style"][key] for key in ("enabled", "model", "trigger")} == \
        {"enabled": True, "model": "offline:fast", "trigger": "commit"}
    assert agents["timeline"]["schedule"] == "0 6 * * 1" and agents["timeline"]["context_window"] == 3
    assert agents["continuity"]["enabled"] is False
    assert 'value="offline:fast"' in text_of(browser.get(f"/draftforge/{project_id}/settings"))


def test_the_settings_page_links_github_shows_the_secret_once_and_unlinks(browser, project_id):
    settings = f"/draftforge/{project_id}/settings"
    link = f"/draftforge/{project_id}/github"
    assert "Not linked" in text_of(browser.get(settings))
    bad = submit(browser, link, {"repo_name": "book", "repo_id": "0"}, page=settings)
    assert bad.status_code == 400
    assert beside(bad, "repo_name") == ["Name the repository as owner/name."]
    assert beside(bad, "repo_id") == ["A positive whole number."]

    made = submit(browser, link, {"repo_name": "ada/book", "repo_id": "424242"}, page=settings)
    assert made.status_code == 302 and made.headers["Location"].endswith("/settings#github")
    shown = text_of(browser.get(settings))
    secret = html.unescape(re.search(r'id="github-secret" class="secret-value">([^<]+)<', shown).group(1))
    assert "/api/draftforge/github/webhook" in shown and ">ada/book</a>" in shown
    body = json.dumps({"zen": "Hello.", "repository": {"id": 424242}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    pinged = browser.post("/api/draftforge/github/webhook", data=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "ping", "X-Hub-Signature-256": signature})
    assert pinged.status_code == 200, "the secret shown signs GitHub's deliveries"
    assert secret not in text_of(browser.get(settings)), "shown once: a reload does not show it again"

    unlinked = submit(browser, f"{link}/unlink", {}, page=settings)
    assert unlinked.status_code == 302 and "Not linked" in text_of(browser.get(settings))


def _settings(app, user, project_id) -> dict[str, Any]:
    with app.app_context():
        return repositories(user.tenant_id).get(ProjectRepository).get(project_id).settings["agents"]


def test_running_the_style_agent_and_reading_its_report(browser, project_id, run_jobs):
    runs = browser.get(f"/draftforge/{project_id}/runs")
    assert runs.status_code == 200 and '<option selected value="style">' in text_of(runs)
    bad = submit(browser, f"/draftforge/{project_id}/runs", {"agent": "nobody"})
    assert bad.status_code == 400 and beside(bad, "agent") == ["Not a valid choice."]

    started = submit(browser, f"/draftforge/{project_id}/runs", {"agent": "style"})
    assert started.status_code == 302, text_of(started)
    report_url = started.headers["Location"]
    waiting = text_of(browser.get(report_url))
    assert 'data-status="queued"' in waiting and 'http-equiv="refresh"' in waiting and "Cancel the run" in waiting
    run_jobs()
    report = browser.get(report_url)
    text = text_of(report)
    assert report.status_code == 200 and 'data-status="completed"' in text and 'http-equiv="refresh"' not in text
    assert 'id="run-summary"' in text and 'id="count-warning"' in text
    ref = re.search(r'/commits/([0-9a-f]{40})"', text).group(1)
    lines = re.findall(rf'href="/draftforge/{project_id}/files/(chapters/[^"?]+)\?ref={ref}#L(\d+)"', text)
    assert lines, "no issue links to its line"
    # Grouped by chapter in reading order, then by line.
    assert lines == sorted(lines, key=lambda pair: (pair[0], int(pair[1])))
    path, line = lines[0]
    target = text_of(browser.get(f"/draftforge/{project_id}/files/{path}?ref={ref}"))
    assert f'id="L{line}"' in target

    counts = {name: int(re.search(rf'id="count-{name}">(\d+)<', text).group(1)) for name in ("error", "warning", "info")}
    for severity in ("warning", "info"):
        filtered = text_of(browser.get(f"{report_url}?severity={severity}"))
        shown = re.findall(r'<li class="df-issue" data-severity="(\w+)"', filtered)
        assert len(shown) == counts[severity] and set(shown) <= {severity}
    assert len(re.findall(r'<li class="df-issue"', text_of(browser.get(f"{report_url}?severity=bogus")))) == \
        sum(counts.values())

    listed = text_of(browser.get(f"/draftforge/{project_id}"))
    assert report_url.removeprefix("http://localhost") in listed and "Latest agent runs" in listed
    finished = submit(browser, f"{report_url}/cancel", {}, page=f"/draftforge/{project_id}/runs")
    assert finished.status_code == 302
    assert "This run has already finished." in text_of(browser.get(finished.headers["Location"]))


def test_canceling_a_queued_run(browser, project_id, run_jobs):
    started = submit(browser, f"/draftforge/{project_id}/runs", {"agent": "style"})
    report_url = started.headers["Location"]
    canceled = submit(browser, f"{report_url}/cancel", {}, page=report_url)
    assert canceled.status_code == 302
    run_jobs()
    text = text_of(browser.get(report_url))
    assert 'data-status="canceled"' in text and "Run canceled." in text


def test_another_tenants_project_is_not_found_on_every_page(client, make_user, make_project, project_id, app):
    stranger = sign_in(app.test_client(), make_user(name="Stranger"))
    their = [f"/draftforge/{project_id}", f"/draftforge/{project_id}/files/chapters/01-arrival.md",
             f"/draftforge/{project_id}/edit/chapters/01-arrival.md", f"/draftforge/{project_id}/chapters/new",
             f"/draftforge/{project_id}/history", f"/draftforge/{project_id}/stats",
             f"/draftforge/{project_id}/settings", f"/draftforge/{project_id}/runs", "/draftforge/not-an-id"]
    for path in their:
        assert stranger.get(path).status_code == 404, path
    assert "The Lighthouse" not in text_of(stranger.get("/draftforge/"))
    token = token_of(stranger.get("/draftforge/new"))
    assert stranger.post(f"/draftforge/{project_id}/runs", data={"csrf_token": token, "agent": "style"}) \
        .status_code == 404


def test_a_viewer_reads_the_project_but_cannot_change_it(app, make_user, user, project_id):
    viewer = make_user(name="Vera Viewer")
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.for_tenant(user.tenant_id).memberships.add(Membership(user_id=viewer.user.id, role=Role.VIEWER))
    visitor = sign_in(app.test_client(), viewer)
    with visitor.session_transaction() as session:
        session["tenant_id"] = str(user.tenant_id)

    page = visitor.get(f"/draftforge/{project_id}")
    assert page.status_code == 200 and "The Lighthouse" in text_of(page)
    assert "New chapter" not in text_of(page)
    chapter = text_of(visitor.get(f"/draftforge/{project_id}/files/chapters/01-arrival.md"))
    assert 'id="L3"' in chapter and "/edit/" not in chapter
    assert visitor.get(f"/draftforge/{project_id}/stats").status_code == 200
    runs = text_of(visitor.get(f"/draftforge/{project_id}/runs"))
    assert "Run the agent" not in runs
    settings = text_of(visitor.get(f"/draftforge/{project_id}/settings"))
    assert "<fieldset class=\"df-agents\" disabled>" in settings and "Save the settings" not in settings
    assert "Link and make a secret" not in settings

    token = token_of(visitor.get("/draftforge/new"))
    for path, data in ((f"/draftforge/{project_id}/edit/chapters/01-arrival.md", {"text": "Gone.", "base": "x"}),
                       (f"/draftforge/{project_id}/chapters/new", {"title": "Mine"}),
                       (f"/draftforge/{project_id}/settings", {"style-trigger": "manual"}),
                       (f"/draftforge/{project_id}/runs", {"agent": "style"}),
                       (f"/draftforge/{project_id}/github", {"repo_name": "vera/book", "repo_id": "7"}),
                       (f"/draftforge/{project_id}/github/unlink", {})):
        assert visitor.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert visitor.get(f"/draftforge/{project_id}/edit/chapters/01-arrival.md").status_code == 403
    with app.app_context():
        project = repositories(user.tenant_id).get(ProjectRepository).get(project_id)
        assert "Gone." not in open_manuscript(project).read("chapters/01-arrival.md")


def test_signed_out_visitors_are_sent_to_sign_in(client, project_id):
    response = client.get(f"/draftforge/{project_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
