"""Git remotes (inkwright_draftforge/git_http.py) driven by the real git client against the app
served on loopback: clone, push, pull a studio edit, and every refusal a remote makes."""

from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from inkwright_draftforge.manuscript_values import Author
from inkwright_draftforge.models import Project, ProjectStatsRecord
from inkwright_draftforge.repository_store import open_manuscript
from sqlalchemy import select

from app.extensions import db
from app.models import AgentRun, User

pytestmark = pytest.mark.usefixtures("tenant_scope_guard")
CHAPTER = "chapters/01-arrival.md"
FILES = {CHAPTER: "# Arrival\n\nShe came home in the rain.\n"}


def api_key(client, role: str | None = None, tenant_id=None) -> str:
    headers = {"X-Tenant-ID": str(tenant_id)} if tenant_id else None
    body = {"name": "git remote", **({"role": role} if role else {})}
    made = client.post("/api/api-keys", json=body, headers=headers)
    assert made.status_code == 201, made.json
    return made.json["data"]["secret"]


def username_of(app, account) -> str:
    with app.app_context():
        return db.session.get(User, account.user.id).username


def remote(studio: str, username: str, slug: str, secret: str | None) -> str:
    credentials = f"x:{secret}@" if secret else ""
    return f"{studio.replace('http://', 'http://' + credentials)}/git/{username}/{slug}.git"


def http_status(url: str, secret: str | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url)
    if secret:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"x:{secret}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def set_agents(app, project_id: str, agents: dict) -> None:
    with app.app_context():
        project = db.session.get(Project, uuid.UUID(project_id))
        project.settings = {**project.settings, "agents": agents}
        db.session.commit()


def runs_of(app, project_id: str) -> list[AgentRun]:
    with app.app_context():
        runs = list(db.session.scalars(select(AgentRun).where(AgentRun.project_id == uuid.UUID(project_id))))
        db.session.expunge_all()
        return runs


def stats_of(app, project_id: str) -> ProjectStatsRecord:
    with app.app_context():
        row = db.session.scalars(select(ProjectStatsRecord).where(
            ProjectStatsRecord.project_id == uuid.UUID(project_id))).one()
        db.session.expunge_all()
        return row


def remote_head(app, project_id: str) -> str:
    with app.app_context():
        return open_manuscript(db.session.get(Project, uuid.UUID(project_id))).head()


def commit_chapter(git, clone: Path, path: str, text: str, message: str) -> str:
    (clone / path).parent.mkdir(parents=True, exist_ok=True)
    (clone / path).write_text(text)
    git("add", path, cwd=clone)
    git("commit", "-q", "-m", message, cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def test_clone_push_and_pull_a_studio_edit(app, studio, git, tmp_path, user, api_client, make_project, run_jobs):
    project_id = make_project(user, FILES)
    set_agents(app, project_id, {"test.proofread": {"enabled": True, "trigger": "commit"}})
    secret = api_key(api_client)
    url = remote(studio, username_of(app, user), "the-lighthouse", secret)
    clone = tmp_path / "clone"

    git("clone", "-q", url, str(clone))
    assert (clone / CHAPTER).read_text() == FILES[CHAPTER]

    sha = commit_chapter(git, clone, "chapters/02-the-storm.md", "# The Storm\n\nThe sea rose against the rocks.\n",
                         "Add the storm")
    pushed = git("push", "origin", "HEAD", cwd=clone)
    assert remote_head(app, project_id) == sha
    assert "queued the test.proofread agent (commit)" in pushed.stderr

    runs = runs_of(app, project_id)
    assert [(r.agent_type, r.trigger.value, r.trigger_ref) for r in runs] == [("test.proofread", "commit", sha)]
    assert runs[0].context["changed"] == ["chapters/02-the-storm.md"]
    run_jobs()  # the push queued its stats job and the agent
    stats = stats_of(app, project_id)
    assert stats.last_commit_sha == sha and stats.chapter_count == 2
    with app.app_context():
        from app.models import AuditLogEntry, DomainEventRecord

        assert db.session.scalar(select(DomainEventRecord.payload).where(
            DomainEventRecord.type == "project.pushed"))["after"] == sha
        assert db.session.scalar(select(AuditLogEntry.action).where(AuditLogEntry.action == "project.push"))

    # A studio-side edit comes down with a pull.
    with app.app_context():
        manuscript = open_manuscript(db.session.get(Project, uuid.UUID(project_id)))
        edited = manuscript.save_chapter(CHAPTER, "# Arrival\n\nShe came home at dawn.\n",
                                         Author("Ada Writer", user.email), base=None)
    git("pull", "-q", "--ff-only", "origin", cwd=clone)
    assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == edited
    assert (clone / CHAPTER).read_text() == "# Arrival\n\nShe came home at dawn.\n"


def test_no_key_or_a_bad_key_is_401(app, studio, git, tmp_path, user, make_project):
    make_project(user, FILES)
    username = username_of(app, user)
    refs = f"{remote(studio, username, 'the-lighthouse', None)}/info/refs?service=git-upload-pack"

    status, headers = http_status(refs)
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="Inkwright"'
    assert http_status(refs, "iwk_not-a-real-key-at-all-000000000000")[0] == 401
    # Without credentials git asks for some (and may not: no terminal); with a bad key it gives up.
    for secret, said in ((None, "could not read Username"),
                         ("iwk_not-a-real-key-at-all-000000000000", "Authentication failed")):
        cloned = git("clone", "-q", remote(studio, username, "the-lighthouse", secret), str(tmp_path / "c"),
                     check=False)
        assert cloned.returncode != 0 and said in cloned.stderr, cloned.stderr


def test_another_tenants_key_and_unknown_projects_are_404(app, studio, git, tmp_path, user, make_project,
                                                          make_user, login_api, api_client):
    make_project(user, FILES)
    username = username_of(app, user)
    stranger_key = api_key(login_api(make_user(name="Stranger")))
    own_key = api_key(api_client)
    base = remote(studio, username, "the-lighthouse", None)
    service = "/info/refs?service=git-upload-pack"

    assert http_status(base + service, stranger_key)[0] == 404
    assert http_status(remote(studio, username, "no-such-book", None) + service, own_key)[0] == 404
    assert http_status(remote(studio, "nobody-here", "the-lighthouse", None) + service, own_key)[0] == 404
    cloned = git("clone", "-q", remote(studio, username, "the-lighthouse", stranger_key), str(tmp_path / "c"),
                 check=False)
    assert cloned.returncode != 0 and "not found" in cloned.stderr


def member_key(app, owner_client, owner, make_user, login_api, role: str, key_role: str) -> str:
    member = make_user(name=f"A {role}")
    added = owner_client.post(f"/api/tenants/{owner.tenant_id}/members", json={"email": member.email, "role": role})
    assert added.status_code in (200, 201), added.json
    return api_key(login_api(member), key_role, owner.tenant_id)


def test_a_viewer_clones_but_may_not_push(app, studio, git, tmp_path, user, api_client, make_project, make_user,
                                          login_api):
    project_id = make_project(user, FILES)
    set_agents(app, project_id, {"test.proofread": {"enabled": True, "trigger": "commit"}})
    viewer = member_key(app, api_client, user, make_user, login_api, "member", "viewer")
    clone = tmp_path / "clone"
    before = remote_head(app, project_id)

    git("clone", "-q", remote(studio, username_of(app, user), "the-lighthouse", viewer), str(clone))
    commit_chapter(git, clone, "chapters/02-mine.md", "# Mine\n\nNot allowed.\n", "Try to push")
    pushed = git("push", "origin", "HEAD", cwd=clone, check=False)

    assert pushed.returncode != 0 and "403" in pushed.stderr
    assert remote_head(app, project_id) == before and runs_of(app, project_id) == []


def test_only_the_owner_may_force_push_the_default_branch(app, studio, git, tmp_path, user, api_client,
                                                          make_project, make_user, login_api):
    project_id = make_project(user, FILES)
    set_agents(app, project_id, {"test.proofread": {"enabled": True, "trigger": "commit"}})
    admin = member_key(app, api_client, user, make_user, login_api, "admin", "admin")
    username = username_of(app, user)
    clone = tmp_path / "clone"
    git("clone", "-q", remote(studio, username, "the-lighthouse", admin), str(clone))
    before = remote_head(app, project_id)
    stats_before = stats_of(app, project_id).last_commit_sha

    # Rewrite the last commit: a non-fast-forward of main.
    (clone / CHAPTER).write_text("# Arrival\n\nRewritten history.\n")
    git("commit", "-q", "-a", "--amend", "-m", "Rewritten", cwd=clone)
    refused = git("push", "--force", "origin", "HEAD:main", cwd=clone, check=False)

    assert refused.returncode != 0
    assert "[remote rejected]" in refused.stderr and "only the owner may force-push the default branch" in refused.stderr
    assert remote_head(app, project_id) == before
    assert runs_of(app, project_id) == [] and stats_of(app, project_id).last_commit_sha == stats_before

    # A fast-forward by the admin is fine; the owner's force push is too.
    git("fetch", "-q", "origin", cwd=clone)
    git("reset", "-q", "--hard", "origin/main", cwd=clone)
    forward = commit_chapter(git, clone, "chapters/02-next.md", "# Next\n\nOn we go.\n", "Next")
    git("push", "origin", "HEAD:main", cwd=clone)
    assert remote_head(app, project_id) == forward

    owner_clone = tmp_path / "owner"
    git("clone", "-q", remote(studio, username, "the-lighthouse", api_key(api_client)), str(owner_clone))
    git("reset", "-q", "--hard", "HEAD~1", cwd=owner_clone)
    rewritten = commit_chapter(git, owner_clone, "chapters/02-other.md", "# Other\n\nA new way.\n", "Other")
    git("push", "--force", "origin", "HEAD:main", cwd=owner_clone)
    assert remote_head(app, project_id) == rewritten
    assert {r.trigger_ref for r in runs_of(app, project_id)} == {forward, rewritten}


def test_a_push_to_another_branch_queues_pr_agents_and_leaves_stats(app, studio, git, tmp_path, user, api_client,
                                                                   make_project):
    project_id = make_project(user, FILES)
    set_agents(app, project_id, {"test.proofread": {"enabled": True, "trigger": "pr"}})
    clone = tmp_path / "clone"
    git("clone", "-q", remote(studio, username_of(app, user), "the-lighthouse", api_key(api_client)), str(clone))
    stats_before = stats_of(app, project_id).last_commit_sha
    git("checkout", "-q", "-b", "draft", cwd=clone)
    sha = commit_chapter(git, clone, "chapters/02-draft.md", "# Draft\n\nMaybe.\n", "Draft")

    git("push", "-q", "origin", "draft", cwd=clone)

    runs = runs_of(app, project_id)
    assert [(r.trigger.value, r.trigger_ref, r.context["changed"]) for r in runs] == [
        ("pr", sha, ["chapters/02-draft.md"])]
    assert stats_of(app, project_id).last_commit_sha == stats_before


def test_a_large_push_streams_in_chunks(app, studio, git, tmp_path, user, api_client, make_project):
    """Over http.postBuffer (1 MiB) git sends the pack chunked; the server has dechunked it."""
    project_id = make_project(user, FILES)
    clone = tmp_path / "clone"
    git("clone", "-q", remote(studio, username_of(app, user), "the-lighthouse", api_key(api_client)), str(clone))
    noise = base64.b64encode(os.urandom(3 * 1024 * 1024 // 2)).decode()
    text = "# Noise\n\n" + "\n".join(noise[i:i + 76] for i in range(0, len(noise), 76)) + "\n"
    sha = commit_chapter(git, clone, "chapters/02-noise.md", text, "A very long chapter")

    git("push", "origin", "HEAD", cwd=clone)

    assert remote_head(app, project_id) == sha
    with app.app_context():
        manuscript = open_manuscript(db.session.get(Project, uuid.UUID(project_id)))
        assert manuscript.read("chapters/02-noise.md") == text


def collaborator_key(app, owner_client, owner, project_id, make_user, login_api, role: str) -> tuple[str, str]:
    """A second account invited as ``role`` and accepted, with an API key in the project's
    tenant (a guest's key); returns the key and the collaborator's id."""
    account = make_user(name=f"A {role}")
    people = f"/api/draftforge/projects/{project_id}/collaborators"
    invited = owner_client.post(people, json={"invitee": account.email, "role": role})
    assert invited.status_code == 201, invited.json
    client = login_api(account)
    assert client.post("/api/invitations/accept",
                       json={"token": invited.json["data"]["invitationToken"]}).status_code == 200
    return api_key(client, tenant_id=owner.tenant_id), invited.json["data"]["collaborator"]["id"]


def last_access(app, collaborator_id: str):
    from inkwright_draftforge.models import Collaborator

    with app.app_context():
        return db.session.get(Collaborator, uuid.UUID(collaborator_id)).last_accessed_at


def test_collaborators_push_by_their_role_and_a_removed_one_finds_nothing(
        app, studio, git, tmp_path, user, api_client, make_project, make_user, login_api):
    project_id = make_project(user, FILES)
    url_of = lambda secret: remote(studio, username_of(app, user), "the-lighthouse", secret)  # noqa: E731
    editor, editor_row = collaborator_key(app, api_client, user, project_id, make_user, login_api, "editor")
    reviewer, _ = collaborator_key(app, api_client, user, project_id, make_user, login_api, "reviewer")

    assert last_access(app, editor_row) is None  # accepting is no access of the manuscript
    clone = tmp_path / "editor"
    git("clone", "-q", url_of(editor), str(clone))
    first_access = last_access(app, editor_row)
    assert first_access is not None
    sha = commit_chapter(git, clone, "chapters/02-the-storm.md", "# The Storm\n\nWaves.\n", "Add the storm")
    git("push", "origin", "HEAD", cwd=clone)
    assert remote_head(app, project_id) == sha

    reviewed = tmp_path / "reviewer"
    git("clone", "-q", url_of(reviewer), str(reviewed))
    commit_chapter(git, reviewed, "chapters/03-mine.md", "# Mine\n\nNo.\n", "Try to push")
    pushed = git("push", "origin", "HEAD", cwd=reviewed, check=False)
    assert pushed.returncode != 0 and "403" in pushed.stderr
    assert remote_head(app, project_id) == sha

    removed = api_client.delete(f"/api/draftforge/projects/{project_id}/collaborators/{editor_row}")
    assert removed.status_code == 200
    refs = f"{url_of(None)}/info/refs?service=git-upload-pack"
    assert http_status(refs, editor)[0] == 401  # the guest's key went with the membership
    cloned = git("clone", "-q", url_of(editor), str(tmp_path / "again"), check=False)
    assert cloned.returncode != 0


def test_a_pending_invitee_finds_nothing(app, studio, git, tmp_path, user, api_client, make_project, make_user,
                                        login_api):
    project_id = make_project(user, FILES)
    invitee = make_user(name="Not yet")
    invited = api_client.post(f"/api/draftforge/projects/{project_id}/collaborators",
                              json={"invitee": invitee.email, "role": "editor"})
    assert invited.status_code == 201
    own_key = api_key(login_api(invitee))  # in their own tenant: they are not in the project's yet
    refs = f"{remote(studio, username_of(app, user), 'the-lighthouse', None)}/info/refs?service=git-upload-pack"
    assert http_status(refs, own_key)[0] == 404


def test_removed_from_one_project_a_collaborator_still_in_another_finds_it_gone(
        app, studio, git, tmp_path, user, api_client, make_project, make_user, login_api):
    kept = make_project(user, FILES, name="Kept", slug="kept")
    gone = make_project(user, FILES, name="Gone", slug="gone")
    account = make_user(name="Both")
    client = login_api(account)
    rows = {}
    for project_id in (kept, gone):
        invited = api_client.post(f"/api/draftforge/projects/{project_id}/collaborators",
                                  json={"invitee": account.email, "role": "editor"})
        assert client.post("/api/invitations/accept",
                           json={"token": invited.json["data"]["invitationToken"]}).status_code == 200
        rows[project_id] = invited.json["data"]["collaborator"]["id"]
    key = api_key(client, tenant_id=user.tenant_id)
    assert api_client.delete(f"/api/draftforge/projects/{gone}/collaborators/{rows[gone]}").status_code == 200

    owner = username_of(app, user)
    service = "/info/refs?service=git-upload-pack"
    assert http_status(remote(studio, owner, "gone", None) + service, key)[0] == 404
    assert http_status(remote(studio, owner, "kept", None) + service, key)[0] == 200
    cloned = git("clone", "-q", remote(studio, owner, "gone", key), str(tmp_path / "gone"), check=False)
    assert cloned.returncode != 0 and "not found" in cloned.stderr


def set_visibility(app, project_id: str, visibility: str) -> None:
    from inkwright_draftforge.models import Visibility

    with app.app_context():
        db.session.get(Project, uuid.UUID(project_id)).visibility = Visibility(visibility)
        db.session.commit()


def test_a_public_project_is_cloned_by_anyone_and_pushed_by_nobody_else(
        app, studio, git, tmp_path, user, make_project, make_user, login_api):
    project_id = make_project(user, FILES)
    owner = username_of(app, user)
    stranger = api_key(login_api(make_user(name="Reader")))
    refs = f"{remote(studio, owner, 'the-lighthouse', None)}/info/refs?service=git-upload-pack"
    assert http_status(refs)[0] == 401 and http_status(refs, stranger)[0] == 404  # private: nobody else

    set_visibility(app, project_id, "unlisted")
    assert http_status(refs)[0] == 401  # unlisted: a signed-in reader, not anyone
    assert http_status(refs, stranger)[0] == 200

    set_visibility(app, project_id, "public")
    clone = tmp_path / "anyone"
    git("clone", "-q", remote(studio, owner, "the-lighthouse", None), str(clone))
    assert (clone / CHAPTER).read_text() == FILES[CHAPTER]
    commit_chapter(git, clone, "chapters/02-mine.md", "# Mine\n\nNo.\n", "Try")
    anonymous_push = git("push", "origin", "HEAD", cwd=clone, check=False)
    assert anonymous_push.returncode != 0
    git("remote", "set-url", "origin", remote(studio, owner, "the-lighthouse", stranger), cwd=clone)
    strangers_push = git("push", "origin", "HEAD", cwd=clone, check=False)
    assert strangers_push.returncode != 0 and "403" in strangers_push.stderr
