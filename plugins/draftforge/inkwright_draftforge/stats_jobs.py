"""A project's stats brought up to a new commit on a worker, not in the request that made it.

A save in the studio or the API, a push to the git remote and a GitHub delivery of a commit
already here each queue :func:`bring_stats_up_to` with the new sha; the job runs
``stats_service.record_commit``, which counts only the chapters that commit changed (a few
milliseconds) and does nothing for a commit the row already has. One job per project and
commit (its id says so), so a redelivery or a double click queues it once.

Should Redis refuse the job, the stats are brought up to date in the request instead: a
writer never loses a count because the queue was away. A job that fails leaves the row where
it was; the next commit's job (or ``flask inkwright draftforge stats rebuild``) counts what it
missed, as it diffs from the last commit the row was brought to.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from app.toolkit import current_state, repositories

from .models import Project
from .repositories import ProjectRepository
from .stats_service import record_commit

log = logging.getLogger(__name__)

JOB = "inkwright_draftforge.stats_jobs.bring_stats_up_to"


def queue_stats(project: Project, sha: str, *, actor_id: Any = None, timezone: str = "UTC") -> None:
    """Queue the stats job for ``sha``; in the request itself when the queue cannot take it."""
    job_id = f"draftforge-stats-{project.id}-{sha}"
    try:
        state = current_state()
        queued = state.queue().fetch_job(job_id)
        if queued is not None and not queued.is_failed:
            return  # queued, running or done already: RQ would list a second enqueue twice
        state.enqueue(JOB, project.tenant_id, project.id, sha, actor_id, timezone, job_id=job_id, job_timeout=300)
        return
    except Exception:  # noqa: BLE001 - Redis away: count here rather than not at all
        log.warning("draftforge: the stats job of project %s for %s could not be queued; counting in the request",
                    project.id, sha, exc_info=True)
    try:
        record_commit(project, sha, repos=repositories(project.tenant_id), actor_id=actor_id, timezone=timezone)
    except Exception:  # noqa: BLE001 - the commit stands; the next one's count catches up
        log.exception("draftforge: the stats of project %s were not brought to %s", project.id, sha)


def bring_stats_up_to(tenant_id: str, project_id: str, sha: str, actor_id: str | None = None,
                      timezone: str = "UTC") -> dict[str, Any] | None:
    """The job: the project's stats row brought to ``sha``; what it holds now (the job's
    result), or None for a project gone meanwhile (deleted, or purged from the trash)."""
    repos = repositories(uuid.UUID(tenant_id))
    project = repos.get(ProjectRepository).get(uuid.UUID(project_id))
    if project is None:
        return None
    row = record_commit(project, sha, repos=repos, actor_id=uuid.UUID(actor_id) if actor_id else None,
                        timezone=timezone)
    return {"sha": row.last_commit_sha, "words": row.word_count, "chapters": row.chapter_count}
