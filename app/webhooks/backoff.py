"""When a failed delivery is tried again: exponential backoff with jitter, pure (no I/O).

Up to :data:`MAX_ATTEMPTS` attempts. The waits grow threefold from :data:`FIRST_WAIT`
(80 s, 4 min, 12 min, 36 min, 1.8 h, 5.4 h, 16.2 h), about 24 hours from the first attempt
to the last, so a receiver that is down for a night still gets the event. Each wait is
moved by up to ±:data:`JITTER` at random, so the deliveries that failed together during one
outage do not all come back in the same second.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_ATTEMPTS = 8
FIRST_WAIT = 80.0
GROWTH = 3.0
JITTER = 0.2
#: Business rule 5 (seed 003): this many failed attempts in a row disable the webhook.
DISABLE_AFTER_FAILURES = 10


def retry_wait(attempt: int, rng: random.Random | None = None) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one.

    :returns: ``None`` when ``attempt`` was the last one allowed.
    """
    if attempt >= MAX_ATTEMPTS:
        return None
    base = FIRST_WAIT * GROWTH ** (max(attempt, 1) - 1)
    spread = (rng or random).uniform(-JITTER, JITTER)
    return base * (1 + spread)


def next_retry_at(now: datetime, attempt: int, rng: random.Random | None = None) -> datetime | None:
    """When to try again after failed attempt ``attempt`` made at ``now`` (``None``: never)."""
    wait = retry_wait(attempt, rng)
    return None if wait is None else now + timedelta(seconds=wait)
