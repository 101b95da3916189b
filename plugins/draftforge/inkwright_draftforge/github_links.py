"""A project linked to a GitHub repository: the repository's id and name, and the secret
GitHub signs its webhook deliveries with (``X-Hub-Signature-256``).

The secret is made here, shown once when the link is made (the writer pastes it into the
GitHub repository's webhook settings) and stored encrypted with the platform's keys, as
provider keys are; ``flask inkwright secrets rotate`` re-encrypts it with the others.

A delivery names only GitHub's repository id, never a tenant, so the projects linked to it
are found across tenants (:class:`GithubLinks`, the plugin's one system-scope repository);
each candidate is then judged by the signature its own secret makes, and everything after
that runs in the project's own tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.toolkit import SystemRepository, current_state, operation, record_audit

from .models import Project
from .projects import ProjectService

#: The most projects one GitHub repository id is tried against: a delivery costs at most this
#: many HMACs, whoever sends it.
MAX_LINKED = 20
SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True)
class Candidate:
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    encrypted_secret: str


class GithubLinks(SystemRepository[Project]):
    """Projects by the GitHub repository they are linked to, whatever their tenant.

    System scope: a GitHub webhook delivery names only the repository's id, and it is the
    signature made with one project's own secret that says which tenant the delivery is for;
    this finds the candidates (ids and ciphertext only, at most ``MAX_LINKED``). A key rotation
    re-encrypts every project's webhook secret, as the core does provider keys'.
    """

    model = Project

    @operation
    def linked(self, github_repo_id: int) -> list[Candidate]:
        rows = self.session.execute(
            select(Project.tenant_id, Project.id, Project.github_webhook_secret)
            .where(Project.github_repo_id == github_repo_id, Project.github_webhook_secret.is_not(None),
                   Project.deleted_at.is_(None))
            .order_by(Project.created_at, Project.id).limit(MAX_LINKED))
        return [Candidate(tenant_id, project_id, token) for tenant_id, project_id, token in rows]

    @operation
    def rotate_all(self, box: Any) -> tuple[int, list[uuid.UUID]]:
        """Re-encrypt every project's webhook secret with the newest key of ``box``.

        :returns: how many were re-encrypted, and the ids of the projects no key decrypts.
        """
        table = Project.__table__
        return self.reencrypt_column(table.c.id, table.c.github_webhook_secret, box)


def signature_of(secret: str, body: bytes) -> str:
    """What GitHub sends in ``X-Hub-Signature-256`` for ``body`` signed with ``secret``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signed_by(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature_of(secret, body).encode(), header.encode("utf-8", "replace"))


def link(service: ProjectService, project_id: Any, *, repo_id: int, repo_name: str, repo_url: str | None,
         webhook_id: int | None) -> tuple[Project, str]:
    """Link the project to a GitHub repository with a new webhook secret; the project and the
    secret in clear (shown this once). Linking again replaces the secret."""
    secret = secrets.token_urlsafe(32)
    with service.repos.transaction():
        project = service.get(project_id, "can_manage_settings")
        before = {"github_repo_id": project.github_repo_id, "github_repo_name": project.github_repo_name}
        project.github_repo_id = repo_id
        project.github_repo_name = repo_name
        project.github_repo_url = repo_url or f"https://github.com/{repo_name}"
        project.github_webhook_id = webhook_id
        project.github_webhook_secret = current_state().secrets.encrypt(secret)
        project.updated_at = service.clock.now()
        service.projects.save(project)
        record_audit("project.github_link", "project", project.id,
                     changes={key: {"before": before[key], "after": getattr(project, key)} for key in before
                              if before[key] != getattr(project, key)},
                     metadata={"secret_replaced": True})
    return project, secret


def unlink(service: ProjectService, project_id: Any) -> Project:
    """Forget the GitHub link: deliveries for that repository are refused from now on."""
    with service.repos.transaction():
        project = service.get(project_id, "can_manage_settings")
        before = project.github_repo_name
        for name in ("github_repo_id", "github_repo_name", "github_repo_url", "github_webhook_id",
                     "github_webhook_secret"):
            setattr(project, name, None)
        project.updated_at = service.clock.now()
        service.projects.save(project)
        record_audit("project.github_unlink", "project", project.id, metadata={"github_repo_name": before})
    return project
