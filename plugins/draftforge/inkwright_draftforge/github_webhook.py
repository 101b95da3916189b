"""``POST /api/draftforge/github/webhook``: GitHub's deliveries for linked projects.

Configure the GitHub repository's webhook with this URL, content type ``application/json``
and the secret the link showed. A delivery is judged by its ``X-Hub-Signature-256`` (an
HMAC-SHA256 of the raw body with a linked project's secret) before anything is recorded: a
missing or wrong signature, or a repository no project is linked to, is 401 and changes
nothing.

Nothing is fetched from GitHub (the studio runs offline). A push whose commit is already in
the project's manuscript (it was pushed to the studio's git remote too) brings the project's
stats to it, for the default branch, and queues the agents whose trigger is ``webhook``, with
the paths the push's commits touched as ``changed``; a redelivery queues no agent twice.
A push of a commit the manuscript does not have answers 202 with ``contentAvailable: false``.
``ping`` is answered; other events are accepted and ignored.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import request

from app.toolkit import (
    AgentRunRepository,
    AgentTrigger,
    ApiBlueprint,
    UnauthorizedError,
    current_state,
    public,
    record_audit,
    repositories,
)

from .github_links import Candidate, GithubLinks, signed_by
from .manuscript_values import RefMissing
from .projects import field_error
from .repositories import ProjectRepository
from .repository_store import open_manuscript
from .schemas import GithubDeliverySchema
from .stats_jobs import queue_stats
from .subjects import KIND
from .triggered_agents import queue_triggered_agents

log = logging.getLogger(__name__)

github_api = ApiBlueprint("draftforge_github", __name__, url_prefix="/api/draftforge/github",
                          description="GitHub's webhook deliveries for projects linked to a GitHub repository")

SHA = re.compile(r"^[0-9a-f]{40}$")
ZERO_SHA = "0" * 40
#: GitHub's ids fit a JavaScript number; a larger one names no repository (and no database
#: integer column could even compare it).
MAX_REPO_ID = 2**53 - 1
#: Paths a delivery may name as changed: GitHub lists at most 2,048 commits' files anyway.
MAX_CHANGED = 500

PUSH_BODY = {
    "description": "GitHub's webhook payload (https://docs.github.com/webhooks): for a push, `ref`, "
                   "`after` and `commits[].added/modified/removed` are read; every event carries "
                   "`repository.id`. Other fields are ignored.",
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["repository"],
        "properties": {
            "repository": {"type": "object", "required": ["id"],
                           "properties": {"id": {"type": "integer", "minimum": 1, "maximum": MAX_REPO_ID}}},
            "ref": {"type": "string"}, "after": {"type": "string"}, "commits": {"type": "array"}},
    }}},
}
HEADERS = [
    {"in": "header", "name": "X-Hub-Signature-256", "required": True, "schema": {"type": "string"},
     "description": "sha256=<hex HMAC-SHA256 of the raw body with the link's secret>"},
    {"in": "header", "name": "X-GitHub-Event", "required": False, "schema": {"type": "string"},
     "description": "push, ping, …"},
]


@github_api.route("/webhook", methods=["POST"])
@github_api.doc(requestBody=PUSH_BODY, parameters=HEADERS)
@github_api.response(200, GithubDeliverySchema)
@github_api.alt_response(202, schema=GithubDeliverySchema,
                         description="Accepted, nothing to do here: an event other than push or ping, a "
                                     "deleted branch, or a commit this manuscript does not have "
                                     "(`contentAvailable: false`)")
@public
def github_delivery():
    """Receive a GitHub webhook delivery for a linked project (signed with the link's secret)."""
    header = request.headers.get("X-Hub-Signature-256") or ""
    if not header.startswith("sha256="):
        raise UnauthorizedError("A GitHub delivery is signed: X-Hub-Signature-256 is missing.", {})
    body = request.get_data(cache=True)
    payload = _payload(body)
    candidate = _signed_for(payload["repository"]["id"], body, header)
    event = (request.headers.get("X-GitHub-Event") or "").strip().lower()
    project_id = str(candidate.project_id)
    if event == "ping":
        return {"event": "ping", "project_id": project_id, "content_available": None, "agents_queued": []}
    if event != "push":
        return ({"event": event or None, "project_id": project_id, "content_available": None,
                 "agents_queued": [], "reason": "Only push and ping events are acted on."}, 202)
    return _push(candidate, payload, request.headers.get("X-GitHub-Delivery"))


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise field_error("body", "A GitHub delivery is JSON: set the webhook's content type to "
                                  "application/json.") from None
    repository = payload.get("repository") if isinstance(payload, dict) else None
    repo_id = repository.get("id") if isinstance(repository, dict) else None
    if isinstance(repo_id, bool) or not isinstance(repo_id, int) or not 1 <= repo_id <= MAX_REPO_ID:
        raise field_error("repository.id", "A GitHub delivery names its repository: a positive integer.")
    return payload


def _signed_for(repo_id: int, body: bytes, header: str) -> Candidate:
    """The linked project whose secret signed ``body``; 401 when none did (the same answer
    for an unknown repository, so a caller learns nothing of which ones are linked)."""
    box = current_state().secrets
    for candidate in repositories().get(GithubLinks).linked(repo_id):
        try:
            secret = box.decrypt(candidate.encrypted_secret)
        except Exception:  # noqa: BLE001 - a secret no key decrypts can sign nothing
            log.warning("draftforge: the GitHub secret of project %s cannot be decrypted", candidate.project_id)
            continue
        if signed_by(secret, body, header):
            return candidate
    raise UnauthorizedError("The delivery's signature matches no project linked to that repository.", {})


def _changed(payload: dict[str, Any]) -> list[str]:
    paths: list[str] = []
    commits = payload.get("commits")
    for commit in commits if isinstance(commits, list) else []:
        for key in ("added", "modified", "removed"):
            listed = commit.get(key) if isinstance(commit, dict) else None
            for path in listed if isinstance(listed, list) else []:
                if isinstance(path, str) and 0 < len(path) <= 1000 and path not in paths:
                    paths.append(path)
                if len(paths) >= MAX_CHANGED:
                    return paths
    return paths


def _push(candidate: Candidate, payload: dict[str, Any], delivery: str | None) -> Any:
    repos = repositories(candidate.tenant_id)
    project = repos.get(ProjectRepository).require(candidate.project_id)
    project_id = str(project.id)
    ref = payload.get("ref") if isinstance(payload.get("ref"), str) else ""
    after = payload.get("after") if isinstance(payload.get("after"), str) else ""
    answer = {"event": "push", "project_id": project_id, "content_available": None, "agents_queued": []}
    if not SHA.match(after) or after == ZERO_SHA:
        return {**answer, "reason": "No commit to review (a deleted branch, or no `after`)."}, 202
    try:
        head = open_manuscript(project).log(ref=after, limit=1)[0]
    except (RefMissing, LookupError, ValueError):
        head = None
    on_default = ref == f"refs/heads/{project.github_default_branch}"
    with repos.transaction():
        record_audit("project.github_push", "project", project.id,
                     metadata={"ref": ref[:255], "after": after, "delivery": (delivery or "")[:100],
                               "content_available": head is not None, "via": "github"},
                     tenant_id=candidate.tenant_id)
    if head is None:
        return {**answer, "content_available": False,
                "reason": "This commit is not in the manuscript; nothing is fetched from GitHub."}, 202
    if on_default:
        queue_stats(project, after)
    reviewed = _reviewed_already(repos, project.id, after)
    queued = queue_triggered_agents(candidate.tenant_id, project.id, AgentTrigger.WEBHOOK.value, after,
                                    _changed(payload), skip=reviewed)
    return {**answer, "content_available": True, "agents_queued": queued}


def _reviewed_already(repos: Any, project_id: Any, sha: str) -> set[str]:
    """Agents a delivery of this commit already queued: GitHub redelivers on a timeout."""
    runs, _ = repos.get(AgentRunRepository).newest(subject_kind=KIND, subject_id=project_id,
                                                   trigger=AgentTrigger.WEBHOOK, limit=100)
    return {run.agent_type for run in runs if run.trigger_ref == sha}
