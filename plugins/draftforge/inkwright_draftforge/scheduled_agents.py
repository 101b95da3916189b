"""Agents on a schedule: a project's agent whose settings say ``trigger: scheduled`` runs at
the moments of its ``schedule`` (a cron string in UTC), through the platform's scheduler.

The ``draftforge.scheduled-agents`` schedule runs this every minute on the one leading cron
worker. For each such agent it asks whether a moment of the agent's cron string has come
since the agent's last scheduled run (or since the project was made): after downtime a
missed moment runs once, not once per moment missed, as the platform's schedules do.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from croniter import croniter

from app.toolkit import AgentRun, AgentRunRepository, AgentTrigger, current_state, repositories, start_agent_run

from .models import Project, ProjectStatus
from .repositories import ProjectRepository
from .repository_store import open_manuscript
from .subjects import KIND

log = logging.getLogger(__name__)


def scheduled_agents(project: Project) -> list[tuple[str, str]]:
    """``(agent, cron)`` of the project's enabled agents that run on a schedule."""
    agents = ((project.settings or {}).get("agents") or {})
    return [(name, values["schedule"]) for name, values in sorted(agents.items())
            if isinstance(values, dict) and values.get("enabled") and values.get("trigger") == "scheduled"
            and isinstance(values.get("schedule"), str) and croniter.is_valid(values["schedule"])]


def due(cron: str, since: datetime, now: datetime) -> bool:
    """Whether a moment of ``cron`` lies in ``(since, now]``."""
    return croniter(cron, now).get_prev(datetime) > since


def _last_scheduled(repos: Any, project: Project, agent: str) -> AgentRun | None:
    runs, _ = repos.get(AgentRunRepository).newest(subject_kind=KIND, subject_id=project.id, agent_type=agent,
                                                   trigger=AgentTrigger.SCHEDULED, limit=1)
    return runs[0] if runs else None


def queue_scheduled_agents(now: datetime | None = None) -> int:
    """Queue every scheduled agent whose moment has come; how many were queued."""
    now = now or current_state().clock.now()
    queued = 0
    for tenant in repositories().tenants.list():
        repos = repositories(tenant.id)
        for project in repos.get(ProjectRepository).list(Project.status == ProjectStatus.ACTIVE):
            for agent, cron in scheduled_agents(project):
                last = _last_scheduled(repos, project, agent)
                if not due(cron, last.created_at if last else project.created_at, now):
                    continue
                try:
                    # The run reviews the manuscript as it is now: its ref is the head's sha.
                    start_agent_run(KIND, project.id, agent, trigger="scheduled",
                                    trigger_ref=open_manuscript(project).head(), priority=2,
                                    user_id=project.user_id, tenant_id=tenant.id)
                    queued += 1
                except Exception:  # noqa: BLE001 - one project's refusal (an agent gone) skips only it
                    log.warning("scheduled %s of project %s not queued", agent, project.id, exc_info=True)
    return queued
