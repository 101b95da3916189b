"""Recurring jobs, declared in code: the core's here, a plugin's by ``Plugin.schedules()``.

A :class:`Schedule` names a job by dotted path and says when it runs: a cron string (five
fields, read in UTC) or an interval in seconds. Which ones are due, and that each runs once
across every worker, is :mod:`app.cron`'s business; this module only says what exists.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable

from croniter import croniter

from .errors import ConfigError

if TYPE_CHECKING:
    from .registry import PluginRegistry

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_.\-]{1,79}$")
_JOB = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")


@dataclass(frozen=True)
class Schedule:
    """A job that runs again and again.

    :param name: unique across the installation, e.g. ``retention.purge``.
    :param job: the dotted path of the job function (it runs in a worker's app context).
    :param cron: five cron fields in UTC (``30 3 * * *``: 03:30 every day) — or ``interval``.
    :param interval: seconds between runs — or ``cron``.
    :param description: what it does, for ``flask inkwright schedules``.
    :param timeout: the job's RQ timeout in seconds.
    """

    name: str
    job: str
    cron: str | None = None
    interval: int | None = None
    description: str = ""
    timeout: int = 600

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.name or ""):
            problems.append(f"schedule {self.name!r}: a name is 2 to 80 lower-case letters, digits, dots, dashes")
        if not _JOB.match(self.job or ""):
            problems.append(f"schedule {self.name!r}: job {self.job!r} is not a dotted path such as app.jobs.reconcile")
        if (self.cron is None) == (self.interval is None):
            problems.append(f"schedule {self.name!r}: give a cron string or an interval, not both or neither")
        elif self.cron is not None and not croniter.is_valid(self.cron):
            problems.append(f"schedule {self.name!r}: {self.cron!r} is not a cron string (five fields, e.g. '*/5 * * * *')")
        elif self.interval is not None and (not isinstance(self.interval, int) or self.interval < 1):
            problems.append(f"schedule {self.name!r}: an interval is a whole number of seconds, at least 1")
        if problems:
            raise ConfigError(problems)

    @property
    def when(self) -> str:
        return f"cron {self.cron} (UTC)" if self.cron else f"every {self.interval} s"

    def latest_due(self, now: datetime) -> datetime:
        """The latest moment at or before ``now`` this schedule was due (cron schedules)."""
        assert self.cron is not None
        at_now = croniter(self.cron, now.astimezone(timezone.utc))
        if croniter.match(self.cron, now):
            return now.replace(second=0, microsecond=0)
        return at_now.get_prev(datetime)

    def is_due(self, last: datetime | None, now: datetime) -> bool:
        """Whether to run at ``now``, having last run at ``last``.

        However long the workers were away, a due schedule runs once: ``last`` then becomes
        ``now``, and nothing before it is due again. A cron schedule never run before waits
        for its next moment; an interval one runs at once.
        """
        if self.interval is not None:
            return last is None or now - last >= timedelta(seconds=self.interval)
        if last is None:
            return False
        return self.latest_due(now) > last

    def next_run(self, last: datetime | None, now: datetime) -> datetime:
        if self.interval is not None:
            return now if last is None else max(now, last + timedelta(seconds=self.interval))
        if last is not None and self.latest_due(now) > last:
            return now
        return croniter(self.cron, now.astimezone(timezone.utc)).get_next(datetime)


#: The core's own schedules (retention and credit periods; the reconciler keeps its timer).
CORE_SCHEDULES = (
    Schedule("credits.rollover", "app.jobs.roll_credit_periods", cron="*/15 * * * *",
             description="Start the new period of every credit account whose period ended."),
    Schedule("retention.purge", "app.jobs.purge_retained", cron="30 3 * * *",
             description="Remove what the retention rules say is due: old notifications, deleted users past "
                         "their recovery window, usage logs over a year old (archived)."),
    Schedule("sessions.purge", "app.jobs.purge_expired_sessions", cron="0 4 * * *",
             description="Delete API sessions whose refresh token lapsed."),
    Schedule("webhooks.requeue", "app.webhooks.jobs.requeue_overdue_deliveries", cron="*/5 * * * *",
             description="Queue again the webhook deliveries whose jobs were lost (Redis flushed or failed over)."),
    Schedule("exports.purge", "app.exports.purge.purge_expired_exports", cron="50 3 * * *",
             description="Delete the files of exports past their 30 days (business rule 4), but bytes another "
                         "export or artifact still holds."),
)


def all_schedules(registry: "PluginRegistry") -> list[Schedule]:
    """The core's schedules, then each plugin's. A plugin whose ``schedules()`` raises, or
    names a schedule already taken, loses those schedules (logged), never the others'."""
    found = {schedule.name: schedule for schedule in CORE_SCHEDULES}
    for name, plugin in registry.plugins.items():
        try:
            offered: Iterable[Schedule] = list(plugin.schedules())
        except Exception:  # noqa: BLE001 - a broken plugin costs only its own schedules
            log.warning("schedules of plugin %s could not be read", name, exc_info=True)
            continue
        for schedule in offered:
            if not isinstance(schedule, Schedule):
                log.warning("plugin %s: %r is not a Schedule", name, schedule)
            elif schedule.name in found:
                log.warning("plugin %s: schedule %s is already declared; the first one stays", name, schedule.name)
            else:
                found[schedule.name] = schedule
    return list(found.values())
