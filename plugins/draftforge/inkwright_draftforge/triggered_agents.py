"""Agents a change to the manuscript starts: each of a project's agents that is ``enabled``
with the trigger of the change (``commit`` for a push to the default branch, ``pr`` to
another, ``webhook`` for a GitHub push whose commit is here), reviewing the new sha with the
paths changed as ``changed``.

Best effort, as the change has happened by then: an agent that cannot be queued (no
installed plugin provides it, the owner is out of credit) is logged and skipped, never the
change's failure, and never the other agents'.
"""

from __future__ import annotations

import logging
import uuid

from app.toolkit import AppError, repositories, start_agent_run

from .repositories import ProjectRepository
from .subjects import KIND

log = logging.getLogger(__name__)


def queue_triggered_agents(tenant_id: uuid.UUID, project_id: uuid.UUID, trigger: str, sha: str,
                           changed: list[str], skip: set[str] = frozenset()) -> list[str]:
    """Queue the project's agents whose trigger is ``trigger`` (but those in ``skip``); the
    names of those queued."""
    project = repositories(tenant_id).get(ProjectRepository).require(project_id)
    agents = ((project.settings or {}).get("agents") or {})
    owner_id = project.user_id
    queued = []
    for name, values in agents.items():
        if not isinstance(values, dict) or values.get("enabled") is not True or values.get("trigger") != trigger \
                or name in skip:
            continue
        try:
            start_agent_run(KIND, str(project_id), name, trigger=trigger, trigger_ref=sha, changed=changed,
                            user_id=owner_id, tenant_id=tenant_id)
        except AppError as error:
            log.warning("draftforge: agent %s was not queued for project %s at %s: %s", name, project_id, sha, error)
            continue
        except Exception:  # noqa: BLE001 - one agent's failure must not keep the others from running
            log.exception("draftforge: queueing agent %s for project %s at %s failed", name, project_id, sha)
            continue
        queued.append(name)
    return queued
