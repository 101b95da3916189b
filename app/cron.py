"""Running the schedules: RQ's own ``CronScheduler``, led by one worker at a time.

Every worker started with ``--with-cron`` (``flask inkwright studio`` starts its workers so)
runs a :class:`ScheduleRunner` in a thread. Each tick it asks to lead: a Redis hash holds the
leader's name and until when it leads, taken or renewed by one atomic script that compares
against the runner's clock (so tests move time by hand). Only the leader enqueues; if it
dies, another takes over once its lease runs out. What ran last is kept in Redis too, so a
new leader, or the same after downtime, runs each missed schedule once — not once per missed
moment (:meth:`app.schedules.Schedule.is_due`).

The jobs are RQ ``CronJob`` s: enqueued with their history and RQ's cron registry, and the
runner registers, heartbeats and saves itself like RQ's scheduler, so RQ's tools see it.
RQ's own ``start()`` loop is not used: it installs signal handlers (a worker's main thread
owns those) and reads the system clock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

import redis
from rq import cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL
from rq.job import Job
from rq.utils import import_attribute

from .clock import Clock
from .queue import make_queue
from .schedules import Schedule

log = logging.getLogger(__name__)

LEADER_KEY = "inkwright:cron:leader"
LAST_RUNS_KEY = "inkwright:cron:last-runs"
#: How long a leader leads without renewing (seconds); it renews every tick.
LEASE_SECONDS = 30.0
TICK_SECONDS = 5.0

# Take the lease if nobody holds it, this runner holds it, or the holder's lease ran out.
_LEAD = """
local holder = redis.call('hget', KEYS[1], 'name')
local lease = tonumber(redis.call('hget', KEYS[1], 'until') or '0')
local now = tonumber(ARGV[2])
if (not holder) or holder == ARGV[1] or lease <= now then
  redis.call('hset', KEYS[1], 'name', ARGV[1], 'until', tostring(now + tonumber(ARGV[3])))
  redis.call('expire', KEYS[1], math.ceil(tonumber(ARGV[3]) * 4))
  return 1
end
return 0
"""
_RESIGN = """
if redis.call('hget', KEYS[1], 'name') == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class ScheduledJob(CronJob):
    """RQ's ``CronJob``, enqueued on Inkwright's queue (JSON-serialised, as every worker reads
    it) by the job's dotted path, with the same history and registry entries as RQ's."""

    def enqueue(self, connection: redis.Redis) -> Job:
        queue = make_queue(connection, self.queue_name)
        with connection.pipeline() as pipeline:
            job = queue.enqueue(self.func_name, **self.job_options, pipeline=pipeline)
            enqueued_at = job.enqueued_at.timestamp()
            pipeline.zadd(self.job_history_key, {job.id: enqueued_at})
            pipeline.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipeline.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron_job_registry.add(self.name, pipeline, enqueue_timestamp=enqueued_at)
            pipeline.execute()
        return job


@dataclass(frozen=True)
class ScheduleState:
    """One schedule as ``flask inkwright schedules`` shows it."""

    schedule: Schedule
    last_run: datetime | None
    next_run: datetime


class ScheduleRunner(CronScheduler):
    """Enqueue the schedules that are due, when this runner leads.

    :param connection: the Redis the workers share.
    :param schedules: what to run (:func:`app.schedules.all_schedules`).
    :param queue_name: the queue the jobs go to.
    :param clock: the time the schedules are read in (a test's ``ManualClock``).
    """

    def __init__(self, connection: redis.Redis, schedules: Iterable[Schedule], queue_name: str, clock: Clock,
                 name: str = "") -> None:
        super().__init__(connection, name=name)
        self.clock = clock
        self.schedules = {schedule.name: schedule for schedule in schedules}
        self._lead = connection.register_script(_LEAD)
        self._resign = connection.register_script(_RESIGN)
        for schedule in self.schedules.values():
            # Imported now, so a schedule naming a job that does not exist fails at start.
            job = ScheduledJob(queue_name=queue_name, func=import_attribute(schedule.job), name=schedule.name,
                          cron=schedule.cron, interval=schedule.interval, job_timeout=schedule.timeout,
                          result_ttl=24 * 3600)
            self._cron_jobs.append(job)

    # Leading -------------------------------------------------------------------------------
    def lead(self, now: datetime) -> bool:
        """Take or renew the lease; whether this runner leads now."""
        return bool(self._lead(keys=[LEADER_KEY], args=[self.name, now.timestamp(), LEASE_SECONDS]))

    def resign(self) -> None:
        self._resign(keys=[LEADER_KEY], args=[self.name])

    @staticmethod
    def leader(connection: redis.Redis) -> str | None:
        name = connection.hget(LEADER_KEY, "name")
        return name.decode() if isinstance(name, bytes) else name

    # Running -------------------------------------------------------------------------------
    @staticmethod
    def last_runs(connection: redis.Redis) -> dict[str, datetime]:
        raw = connection.hgetall(LAST_RUNS_KEY)
        return {(key.decode() if isinstance(key, bytes) else key):
                datetime.fromtimestamp(float(value), timezone.utc) for key, value in raw.items()}

    def tick(self, now: datetime | None = None) -> list[str]:
        """Enqueue every due schedule if this runner leads; the names enqueued."""
        now = now or self.clock.now()
        if not self.lead(now):
            return []
        last = self.last_runs(self.connection)
        enqueued = []
        for job in self._cron_jobs:
            schedule = self.schedules[job.name]
            seen = last.get(schedule.name)
            if seen is None and schedule.cron is not None:
                # First sight of a cron schedule: it waits for its next moment from here.
                self.connection.hset(LAST_RUNS_KEY, schedule.name, now.timestamp())
                continue
            if not schedule.is_due(seen, now):
                continue
            # Recorded first: should the enqueue fail, the schedule waits for its next
            # moment rather than running twice.
            self.connection.hset(LAST_RUNS_KEY, schedule.name, now.timestamp())
            try:
                job.enqueue(self.connection)
            except redis.RedisError:
                log.warning("schedule %s could not be enqueued", schedule.name, exc_info=True)
                continue
            job.latest_enqueue_time = now
            job.next_enqueue_time = schedule.next_run(now, now)
            enqueued.append(schedule.name)
            log.info("schedule %s enqueued %s", schedule.name, schedule.job)
        if enqueued:
            self.save()
        return enqueued

    def run(self, stop: threading.Event, tick_seconds: float = TICK_SECONDS) -> None:
        """Tick until ``stop`` is set (a worker's cron thread); a Redis outage is waited out."""
        try:
            self.register_birth()
        except redis.RedisError:
            log.warning("cron runner %s could not register", self.name, exc_info=True)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                    self.heartbeat()
                except redis.RedisError:
                    log.warning("cron runner %s: Redis is away; trying again", self.name, exc_info=True)
                stop.wait(tick_seconds)
        finally:
            try:
                self.resign()
                self.register_death()
            except redis.RedisError:
                pass

    def states(self) -> list[ScheduleState]:
        last = self.last_runs(self.connection)
        now = self.clock.now()
        return [ScheduleState(schedule, last.get(name), schedule.next_run(last.get(name), now))
                for name, schedule in sorted(self.schedules.items())]
