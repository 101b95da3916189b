"""The trash, emptied: a project deleted more than 30 days ago goes for good (seed 003's
30-day recovery window), run daily by the ``draftforge.trash-purge`` schedule.

A purged project takes with it its stats row, its agent runs (whose usage rows stay, for the
bill) and its bare git repository. The rows go first, in one transaction per project; the
repository's folder after that commits, so a failure in between leaves an orphan folder on
disk (logged, and harmless) rather than a project whose manuscript is gone.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta

from app.toolkit import AgentRunRepository, current_state, repositories

from .projects import RESTORE_DAYS
from .repositories import ProjectRepository
from .repository_store import repository_path
from .subjects import KIND

log = logging.getLogger(__name__)

TRASH_KEPT = timedelta(days=RESTORE_DAYS)


def purge_trash(now: datetime | None = None) -> int:
    """Purge every project in the trash past its recovery window; how many were purged."""
    now = now or current_state().clock.now()
    purged = 0
    for tenant in repositories().tenants.list():
        repos = repositories(tenant.id)
        for project in repos.get(ProjectRepository).trashed_before(now - TRASH_KEPT):
            project_id, slug, folder = project.id, project.slug, repository_path(project)
            with repos.transaction():
                runs = repos.get(AgentRunRepository).forget_subject(KIND, project_id)
                repos.get(ProjectRepository).purge(project)
            try:
                shutil.rmtree(folder)
            except FileNotFoundError:
                pass
            except OSError as problem:
                log.warning("draftforge trash: the repository of project %s is left at %s (%s)", project_id, folder,
                            problem)
            log.info("draftforge trash: project %s (%s) purged with %d agent runs", project_id, slug, runs)
            purged += 1
    return purged
