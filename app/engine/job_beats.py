"""Which step jobs are alive, as their workers say through Redis besides the database.

A worker stamps the steps it executes in the database (``RunStep.heartbeat_at``), and the
reconciler takes a step silent past ``STEP_STALE_AFTER`` for a dead worker's. A live worker
cannot write that stamp while the database is away (an outage, SQLite's lock held past its
timeout), and once the database is back a reconciler may look before the worker's next stamp
lands: a step that may try once would then fail its run for an outage it rode out. So every
beat also goes to Redis, which a database outage does not touch — a sorted set of job ids
scored by when a worker last said it executes them — and a step whose stamp is stale but whose
job was beaten within the limit is alive.

Only jobs being executed are beaten: a job no worker executes any more (a fork worker's horse
killed mid-step, a job that ended without recording its step) falls silent in both places and
is judged as before. Without Redis there is no RQ and no reconciler, so a beat Redis refuses
is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis

log = logging.getLogger(__name__)

#: Job id → when a worker last said it executes it (epoch seconds).
BEATING_JOBS = "inkwright:jobs:beating"

#: Beats older than this are dropped by the reconciler's pass; nothing looks that far back.
FORGET_AFTER_SECONDS = 24 * 3600


def beat(client: redis.Redis, job_ids: Iterable[str], at: float) -> None:
    """These jobs are being executed right now (``at``, epoch seconds)."""
    scores = {job_id: at for job_id in job_ids}
    if not scores:
        return
    try:
        client.zadd(BEATING_JOBS, scores)
    except redis.RedisError:
        log.warning("could not beat %d job(s) in Redis", len(scores), exc_info=True)


def last_beat(client: redis.Redis, job_id: str | None) -> float | None:
    """When a worker last said it executes ``job_id`` (epoch seconds); ``None`` when unknown
    (no job, never beaten, Redis refusing)."""
    if not job_id:
        return None
    try:
        return client.zscore(BEATING_JOBS, job_id)
    except redis.RedisError:
        return None


def beaten_since(client: redis.Redis, job_id: str | None, moment: float) -> bool:
    """Whether a worker said it executes ``job_id`` at ``moment`` or later. Unknown (no job,
    Redis refusing) counts as not: the database's stamp alone then decides."""
    score = last_beat(client, job_id)
    return score is not None and score >= moment


def forget_before(client: redis.Redis, moment: float) -> None:
    """Drop the beats of jobs silent since before ``moment``; they are long over."""
    try:
        client.zremrangebyscore(BEATING_JOBS, "-inf", f"({moment}")
    except redis.RedisError:
        log.warning("could not drop old job beats", exc_info=True)
