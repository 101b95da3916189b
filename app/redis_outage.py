"""A worker outlives Redis going away: it waits for Redis, and starts working again.

RQ retries a lost connection only while it waits for a job; anywhere else in its loop
(a heartbeat, maintenance, a job's bookkeeping, its own registration at start) a lost
connection ends ``worker.work()``, and the process used to exit with code 1, leaving only
an outside supervisor to bring it back. The engine keeps no truth in Redis (the database
and heartbeats are), so what a worker needs after an outage is only to reconnect: this
module waits for Redis with a backoff, logging every attempt, and tells whether a worker
stopped because Redis went away (then it is started again, in the same process) or for a
reason of its own (then it stops, as RQ decided).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import redis

log = logging.getLogger(__name__)

#: Seconds between attempts to reach Redis: the first wait, and the longest.
FIRST_WAIT, LONGEST_WAIT = 0.5, 30.0

LOST = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def wait_for_redis(client: redis.Redis, sleep: Callable[[float], None] = time.sleep) -> int:
    """Return once ``client`` answers a PING; how many attempts failed before it did."""
    failed, wait = 0, FIRST_WAIT
    while True:
        try:
            client.ping()
            if failed:
                log.warning("Redis answers again after %d failed attempt(s)", failed)
            return failed
        except LOST as exc:
            failed += 1
            log.warning("Redis cannot be reached (%s); attempt %d, trying again in %.1f s", exc, failed, wait)
            sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)


class RedisLossWatch(logging.Handler):
    """Notices, in RQ's worker log, a worker loop that ended on a lost Redis connection:
    RQ logs it (with the exception) before it quits, and does not re-raise it."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lost = False

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, LOST) or "Redis connection timeout" in record.getMessage():
            self.lost = True


def work_through_outages(start: Callable[[], Any], client: redis.Redis,
                         sleep: Callable[[float], None] = time.sleep) -> Any:
    """Run ``start()`` (which builds a worker and works) until it ends for a reason other
    than a lost Redis; before each start, wait for Redis."""
    rq_log = logging.getLogger("rq.worker")
    while True:
        wait_for_redis(client, sleep)
        watch = RedisLossWatch()
        rq_log.addHandler(watch)
        try:
            result = start()
        except LOST as exc:  # registering or tearing down, outside RQ's loop
            log.warning("the worker lost Redis (%s); it starts again when Redis is back", exc)
            continue
        finally:
            rq_log.removeHandler(watch)
        if not watch.lost:
            return result
        log.warning("the worker lost Redis; it starts again when Redis is back")
