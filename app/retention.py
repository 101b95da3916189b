"""Data retention (seed 003 "Data Retention"): what is kept how long, and the purge that
applies it, run daily by the ``retention.purge`` schedule.

- Notifications go once past their ``expires_at`` (90 days unless they said otherwise).
- Soft-deleted accounts can be restored for 30 days (``flask inkwright users restore``),
  then go for good, with what they own.
- Usage log rows older than a year move to ``ai_usage_log_archive``, whole.

Each part runs in a transaction of its own, so one failing leaves the others done, and the
counts are logged and returned (the RQ job's result).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from .repositories import Repositories
from .repositories.usage import UsageArchive

log = logging.getLogger(__name__)

USER_RECOVERY = timedelta(days=30)
USAGE_KEPT = timedelta(days=365)
#: Rows archived per transaction: a year of a busy installation's log is not one transaction.
ARCHIVE_BATCH = 1000


@dataclass(frozen=True)
class PurgeReport:
    notifications: int
    users: int
    usage_archived: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def purge(repos: Repositories, now: datetime) -> PurgeReport:
    """Apply every retention rule as of ``now``."""
    with repos.transaction():
        notifications = repos.notifications.purge_expired(now)
    with repos.transaction():
        users = repos.users.purge_deleted(now - USER_RECOVERY)
    archived = 0
    while True:
        with repos.transaction():
            moved = repos.get(UsageArchive).archive_before(now - USAGE_KEPT, now, ARCHIVE_BATCH)
        archived += moved
        if moved < ARCHIVE_BATCH:
            break
    report = PurgeReport(notifications=notifications, users=users, usage_archived=archived)
    log.info("retention purge: %d notifications, %d deleted accounts, %d usage rows archived",
             notifications, users, archived)
    return report
