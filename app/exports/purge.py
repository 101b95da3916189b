"""Business rule 4: exports expire 30 days after they complete. The daily ``exports.purge``
schedule removes each expired export's file — unless another live export or an artifact
holds the same bytes, storage being content-addressed — and the job then reads expired."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from ..repositories import Repositories
from ..repositories.export_jobs import ExportPurge
from ..runtime import InkwrightState, current_state, repositories

log = logging.getLogger(__name__)


def release_file(repos: Repositories, state: InkwrightState, leaving: uuid.UUID, uri: str, checksum: str,
                 now: datetime | None = None) -> bool:
    """Delete the stored bytes an export held, if nothing else holds them; whether it did."""
    now = now or state.clock.now()
    if repos.get(ExportPurge).bytes_still_used(checksum, now, leaving):
        return False
    state.storage.delete(uri)
    return True


def purge_expired_exports(now: datetime | None = None) -> dict[str, int]:
    """The schedule's job: every expired export's file released; counts."""
    state = current_state()
    now = now or state.clock.now()
    repos = repositories()
    expired = released = 0
    for _tenant_id, job_id, uri, checksum in repos.get(ExportPurge).expired_files(now):
        with repos.transaction():
            repos.get(ExportPurge).forget_file(job_id, now)
        expired += 1
        if release_file(repos, state, job_id, uri, checksum, now):
            released += 1
    log.info("exports purge: %d expired, %d files deleted", expired, released)
    return {"expired": expired, "filesDeleted": released}
