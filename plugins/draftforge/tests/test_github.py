"""A project linked to GitHub (inkwright_draftforge/github_links.py, github_webhook.py): the
link's secret shown once and kept encrypted, deliveries judged by X-Hub-Signature-256 before
anything is recorded, a push of a commit already here bringing the stats to it and queuing
the webhook agents once, and a commit not here answered 202 contentAvailable: false."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
from inkwright_draftforge.models import Project, ProjectStatsRecord
from inkwright_draftforge.repository_store import open_manuscript

from app.extensions import db
from app.models import AgentRun, AgentTrigger, AuditLogEntry
from app.runtime import current_state

BASE = "/api/draftforge/projects"
WEBHOOK = "/api/draftforge/github/webhook"
REPO_ID = 424242

# Every statement a delivery makes stays in its tenant, but GithubLinks' declared lookup.
pytestmark = pytest.mark.usefixtures("tenant_scope_guard")


def data(response, status=200):
    assert response.status_code == status, response.json
    return response.json["data"]


def deliver(client, payload, secret: str | None, event: str = "push", signature: str | None = None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4())}
    if signature is None and secret is not None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post(WEBHOOK, data=body, headers=headers)


def push_of(sha: str, ref: str = "refs/heads/main", changed=("chapters/01-one.md",)) -> dict:
    return {"ref": ref, "before": "0" * 40, "after": sha, "repository": {"id": REPO_ID, "full_name": "ada/book"},
            "commits": [{"id": sha, "added": [], "modified": list(changed), "removed": []}],
            "head_commit": {"id": sha}, "pusher": {"name": "ada"}}


def head_of(app, project_id: str) -> str:
    with app.app_context():
        return open_manuscript(db.session.get(Project, uuid.UUID(project_id))).head()


def webhook_runs(app, project_id: str) -> list[AgentRun]:
    with app.app_context():
        runs = db.session.query(AgentRun).filter(AgentRun.project_id == uuid.UUID(project_id),
                                                 AgentRun.trigger == AgentTrigger.WEBHOOK).all()
        db.session.expunge_all()
        return runs


def audit_actions(app, action: str) -> list[AuditLogEntry]:
    with app.app_context():
        rows = db.session.query(AuditLogEntry).filter(AuditLogEntry.action == action).all()
        db.session.expunge_all()
        return rows


@pytest.fixture
def linked(app, api_client, user, make_project):
    """``(project id, secret)``: a project with a chapter, its style agent on the webhook
    trigger, linked to GitHub repository REPO_ID."""
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nShe came home.\n"})
    data(api_client.patch(f"{BASE}/{project_id}", json={"settings": {"agents": {"style": {
        "enabled": True, "trigger": "webhook"}}}}))
    linked = data(api_client.put(f"{BASE}/{project_id}/github", json={"repoId": REPO_ID, "repoName": "ada/book"}))
    return project_id, linked["webhookSecret"]


def test_a_link_shows_its_secret_once_and_keeps_it_encrypted(app, api_client, linked):
    project_id, secret = linked
    project = data(api_client.get(f"{BASE}/{project_id}"))
    assert (project["githubRepoId"], project["githubRepoName"], project["githubRepoUrl"]) == (
        REPO_ID, "ada/book", "https://github.com/ada/book")
    assert "webhookSecret" not in project and secret not in json.dumps(project)
    with app.app_context():
        stored = db.session.get(Project, uuid.UUID(project_id)).github_webhook_secret
        assert secret not in stored and current_state().secrets.decrypt(stored) == secret
    again = data(api_client.put(f"{BASE}/{project_id}/github", json={"repoId": REPO_ID, "repoName": "ada/book"}))
    assert again["webhookSecret"] != secret and again["webhookUrl"].endswith(WEBHOOK)
    assert len(audit_actions(app, "project.github_link")) == 2
    assert secret not in json.dumps([row.changes for row in audit_actions(app, "project.github_link")])


@pytest.mark.parametrize("body", [
    {"repoId": 0, "repoName": "ada/book"}, {"repoId": "5", "repoName": "ada/book"}, {"repoId": 5, "repoName": "book"},
    {"repoId": 5, "repoName": "ada/book", "repoUrl": "javascript:alert(1)"}, {"repoName": "ada/book"},
    {"repoId": 5, "repoName": "ada/book", "secret": "mine"},
])
def test_a_bad_link_is_a_field_error_and_links_nothing(api_client, user, make_project, body):
    project_id = make_project(user)
    refused = api_client.put(f"{BASE}/{project_id}/github", json=body)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "VALIDATION_ERROR", refused.json
    assert data(api_client.get(f"{BASE}/{project_id}"))["githubRepoId"] is None


def test_a_ping_signed_with_the_secret_is_answered(client, linked):
    project_id, secret = linked
    assert data(deliver(client, {"zen": "Keep it simple.", "repository": {"id": REPO_ID}}, secret, "ping")) == {
        "event": "ping", "projectId": project_id, "contentAvailable": None, "agentsQueued": []}


@pytest.mark.parametrize("signature", [None, "", "sha1=abc", "sha256=" + "0" * 64, "sha256=not-hex"])
def test_an_unsigned_or_wrongly_signed_delivery_is_401_and_records_nothing(app, client, linked, signature):
    project_id, _ = linked
    refused = deliver(client, push_of(head_of(app, project_id)), None, signature=signature)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "UNAUTHORIZED", refused.json
    assert not webhook_runs(app, project_id) and not audit_actions(app, "project.github_push")


def test_a_delivery_for_a_repository_nobody_linked_is_401_as_a_bad_signature(app, client, linked):
    project_id, secret = linked
    payload = {**push_of(head_of(app, project_id)), "repository": {"id": REPO_ID + 1}}
    assert deliver(client, payload, secret).status_code == 401
    assert not webhook_runs(app, project_id)


@pytest.mark.parametrize("payload", [b"not json", b"[]", b'{"repository": {"id": "5"}}', b'{"repository": 5}',
                                     b'{"repository": {"id": true}}', b"\xff\xfe",
                                     b'{"repository": {"id": 99999999999999999999999}}'])
def test_a_body_that_is_no_delivery_is_a_field_error(client, linked, payload):
    _, secret = linked
    signature = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    refused = client.post(WEBHOOK, data=payload, headers={"Content-Type": "application/json",
                                                          "X-GitHub-Event": "push", "X-Hub-Signature-256": signature})
    assert refused.status_code == 400, refused.get_data(as_text=True)


def test_a_push_of_a_commit_here_updates_the_stats_and_queues_the_webhook_agents_once(app, client, linked,
                                                                                      run_jobs):
    project_id, secret = linked
    sha = head_of(app, project_id)
    answer = data(deliver(client, push_of(sha), secret))
    assert (answer["contentAvailable"], answer["agentsQueued"]) == (True, ["style"])
    runs = webhook_runs(app, project_id)
    assert [(r.agent_type, r.trigger_ref) for r in runs] == [("style", sha)]
    run_jobs()  # the stats job, and the agent
    with app.app_context():
        stats = db.session.query(ProjectStatsRecord).filter_by(project_id=uuid.UUID(project_id)).one()
        assert stats.last_commit_sha == sha

    again = data(deliver(client, push_of(sha), secret))  # GitHub redelivers after a timeout
    assert (again["contentAvailable"], again["agentsQueued"]) == (True, [])
    assert len(webhook_runs(app, project_id)) == 1
    pushes = audit_actions(app, "project.github_push")
    assert [(row.details["after"], row.details["content_available"]) for row in pushes] == [(sha, True)] * 2
    assert {(row.tenant_id, row.user_id) for row in pushes} == {(runs[0].tenant_id, None)}, "the project's tenant"
    run_jobs()
    assert {r.status.value for r in webhook_runs(app, project_id)} == {"completed"}, "the agent's run is done"


def test_a_push_of_a_commit_not_here_is_202_content_unavailable_and_queues_nothing(app, client, linked):
    project_id, secret = linked
    answer = deliver(client, push_of("ab" * 20), secret)
    assert answer.status_code == 202, answer.json
    assert (answer.json["data"]["contentAvailable"], answer.json["data"]["agentsQueued"]) == (False, [])
    assert not webhook_runs(app, project_id)
    deleted = deliver(client, push_of("0" * 40), secret)
    assert deleted.status_code == 202 and deleted.json["data"]["contentAvailable"] is None


def test_other_events_are_accepted_and_ignored(app, client, linked):
    project_id, secret = linked
    ignored = deliver(client, {"action": "opened", "repository": {"id": REPO_ID}}, secret, "issues")
    assert ignored.status_code == 202 and ignored.json["data"]["event"] == "issues"
    assert not webhook_runs(app, project_id)


def test_each_tenant_is_reached_only_with_its_own_secret(app, client, linked, make_user, login_api, make_project):
    project_id, secret = linked
    other = make_user(email="bea@example.com")
    other_project = make_project(other, {"chapters/01-one.md": "# One\n\nText.\n"})
    other_api = login_api(other)
    data(other_api.patch(f"{BASE}/{other_project}", json={"settings": {"agents": {"style": {
        "enabled": True, "trigger": "webhook"}}}}))
    other_secret = data(other_api.put(f"{BASE}/{other_project}/github",
                                      json={"repoId": REPO_ID, "repoName": "bea/fork"}))["webhookSecret"]
    answer = data(deliver(client, push_of(head_of(app, other_project)), other_secret))
    assert answer["projectId"] == other_project and answer["contentAvailable"] is True
    assert webhook_runs(app, other_project) and not webhook_runs(app, project_id)


def test_after_unlinking_deliveries_are_refused(app, api_client, client, linked):
    project_id, secret = linked
    project = data(api_client.delete(f"{BASE}/{project_id}/github"))
    assert (project["githubRepoId"], project["githubRepoName"]) == (None, None)
    assert deliver(client, push_of(head_of(app, project_id)), secret).status_code == 401


def test_a_key_rotation_re_encrypts_the_link_secrets_and_deliveries_still_verify(app, client, linked):
    project_id, secret = linked
    with app.app_context():
        before = db.session.get(Project, uuid.UUID(project_id)).github_webhook_secret
    result = app.test_cli_runner().invoke(args=["inkwright", "secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 secrets of draftforge (GithubLinks)" in result.output
    with app.app_context():
        assert db.session.get(Project, uuid.UUID(project_id)).github_webhook_secret != before
    assert data(deliver(client, {"repository": {"id": REPO_ID}}, secret, "ping"))["event"] == "ping"


def test_the_operator_sees_the_plugins_system_scope(app):
    result = app.test_cli_runner().invoke(args=["inkwright", "plugins"])
    assert result.exit_code == 0, result.output
    assert "Plugins' system scope" in result.output and "GithubLinks" in result.output
