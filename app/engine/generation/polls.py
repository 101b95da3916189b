"""Polls of generation jobs: when each is due, which RQ job makes it, and enqueueing it.

A poll is recorded on its job (``poll_job_id``, ``next_poll_at``) in the transaction that
decides it, and put on the queue only once that transaction has committed. Due times are
counted from the app's clock (the caller's ``now``), never read from the wall here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...models import GenerationJob
from ...repositories import Repositories
from ...runtime import InkwrightState
from .awaiting import AwaitingGeneration

POLL_FUNCTION = "app.jobs.poll_generation"
#: Bounds on the interval a provider asks to be polled at: no tighter loop than the first,
#: and no job left unlooked-at for longer than the second.
MIN_POLL_INTERVAL = 0.05
MAX_POLL_INTERVAL = 300.0
#: Seconds one poll job may take, the download of a finished result included.
POLL_JOB_TIMEOUT = 600


def poll_interval(asked: float) -> float:
    """The seconds between polls of a job whose provider asked for ``asked``, within bounds."""
    return min(MAX_POLL_INTERVAL, max(MIN_POLL_INTERVAL, float(asked)))


def deadline_of(job: GenerationJob) -> datetime:
    """When the job times out, counted from its submission."""
    return (job.started_at or job.created_at) + timedelta(milliseconds=job.timeout_ms)


@dataclass(frozen=True)
class PollSchedule:
    """A poll recorded on its job, to enqueue once the transaction has committed."""

    generation_job_id: uuid.UUID
    rq_job_id: str
    delay: float


def schedule_poll(job: GenerationJob, delay: float, now: datetime) -> PollSchedule:
    """Record on the job which RQ job polls it next, and that it is due ``delay`` seconds
    after ``now`` (in the caller's transaction)."""
    delay = max(0.0, delay)
    job.poll_job_id = f"generation-{job.id}-{uuid.uuid4().hex[:8]}"
    job.next_poll_at = now + timedelta(seconds=delay)
    return PollSchedule(job.id, job.poll_job_id, delay)


def schedule_first_poll(repos: Repositories, awaiting: AwaitingGeneration) -> PollSchedule | None:
    """For a step that just went waiting: its job's first poll (a newer one than any before),
    due the provider's interval after the attempt began to wait."""
    job = repos.generation_jobs.find(awaiting.job_id)
    if job is None:
        return None
    poll = schedule_poll(job, awaiting.delay, awaiting.since)
    repos.generation_jobs.save(job)
    return poll


def enqueue_polls(state: InkwrightState, polls: list[PollSchedule]) -> None:
    """After the commit: put recorded polls on the queue, each as a delayed job."""
    if not polls:
        return
    queue = state.queue()
    for poll in polls:
        options = dict(job_id=poll.rq_job_id, job_timeout=POLL_JOB_TIMEOUT, result_ttl=600, failure_ttl=86400)
        if poll.delay > 0:
            queue.enqueue_in(timedelta(seconds=poll.delay), POLL_FUNCTION, str(poll.generation_job_id), **options)
        else:
            queue.enqueue(POLL_FUNCTION, str(poll.generation_job_id), **options)


__all__ = ["POLL_FUNCTION", "PollSchedule", "deadline_of", "enqueue_polls", "poll_interval", "schedule_first_poll",
           "schedule_poll"]
