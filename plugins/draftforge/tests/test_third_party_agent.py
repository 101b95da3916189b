"""A third party's review agent (tests/plugins/agent_template, written from the README, in a
distribution of its own) started by a push: a DraftForge project whose settings give it the
``commit`` trigger queues it when the real git client pushes, and its usage rows carry its
agent_type. (The core's tests run it by the API, the CLI and a workflow step.)"""

from __future__ import annotations

import uuid

import pytest
from inkwright_draftforge.models import Project

from app.extensions import db
from app.models import AgentRun, UsageLogEntry, User
from tests.agent_runs.acme import acme_installed

CHAPTER = "chapters/01-arrival.md"


@pytest.fixture(scope="module")
def acme(tmp_path_factory):
    """Module-scoped, so in place before each test's app is made (and found by its PLUGINS "*")."""
    with acme_installed(tmp_path_factory.mktemp("site")) as site:
        yield site


def test_a_push_queues_the_third_party_agent_on_its_commit_trigger(acme, app, studio, git, tmp_path, user,
                                                                    api_client, make_project, run_jobs):
    assert "acme.cliches" in [a["name"] for a in api_client.get("/api/agents").json["data"]["items"]]
    project_id = make_project(user, {CHAPTER: "# Arrival\n\nShe came home in the rain.\n"})
    settings = api_client.patch(f"/api/draftforge/projects/{project_id}", json={"settings": {"agents": {
        "acme.cliches": {"enabled": True, "trigger": "commit"}}}})
    assert settings.status_code == 200, settings.json
    secret = api_client.post("/api/api-keys", json={"name": "git remote"}).json["data"]["secret"]
    with app.app_context():
        username = db.session.get(User, user.user.id).username
        slug = db.session.get(Project, uuid.UUID(project_id)).slug
    clone = tmp_path / "clone"
    git("clone", "-q", f"{studio.replace('http://', f'http://x:{secret}@')}/git/{username}/{slug}.git", str(clone))
    (clone / CHAPTER).write_text("# Arrival\n\nIt was a dark and stormy night.\n")
    git("commit", "-q", "-am", "A stormy night", cwd=clone)
    sha = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    pushed = git("push", "origin", "HEAD", cwd=clone)
    assert "queued the acme.cliches agent (commit)" in pushed.stderr

    run_jobs()
    with app.app_context():
        [run] = db.session.query(AgentRun).filter(AgentRun.project_id == uuid.UUID(project_id)).all()
        assert (run.agent_type, run.trigger.value, run.trigger_ref, run.status.value) == (
            "acme.cliches", "commit", sha, "completed")
        assert {(i["category"], i["file"], i["line"]) for i in run.results["issues"]} >= {("cliche", CHAPTER, 3)}
        usage = db.session.query(UsageLogEntry).filter(UsageLogEntry.agent_run_id == run.id).all()
        assert usage and {row.agent_type for row in usage} == {"acme.cliches"}
