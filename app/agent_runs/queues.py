"""Priority to queue: seed 003 gives runs a priority 1-10 ("higher = more urgent").

Three RQ queues beside the app's own: ``<queue>-high`` for 8-10, the app's queue for 4-7 and
``<queue>-low`` for 1-3. Every worker listens to all three in that order, and RQ takes from
the first queue that has a job, so an urgent review never waits behind a backlog of scheduled
ones, and the default queue is the one every other job already uses.
"""

from __future__ import annotations

HIGH_SUFFIX = "-high"
LOW_SUFFIX = "-low"


def queue_for_priority(base: str, priority: int) -> str:
    if priority >= 8:
        return base + HIGH_SUFFIX
    if priority <= 3:
        return base + LOW_SUFFIX
    return base


def worker_queues(base: str) -> list[str]:
    """The queues a worker drains, most urgent first."""
    return [base + HIGH_SUFFIX, base, base + LOW_SUFFIX]
