"""app/webhooks/backoff.py: up to 8 attempts over about a day, each wait jittered."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from app.webhooks import backoff


def test_eight_attempts_spread_over_about_24_hours():
    rng = random.Random(7)
    waits = [backoff.retry_wait(attempt, rng) for attempt in range(1, backoff.MAX_ATTEMPTS)]

    assert backoff.retry_wait(backoff.MAX_ATTEMPTS, rng) is None
    assert len(waits) == 7 and all(w is not None for w in waits)
    assert waits == sorted(waits), "each wait is longer than the one before"
    assert timedelta(hours=19) < timedelta(seconds=sum(waits)) < timedelta(hours=30)


def test_each_wait_is_within_its_jitter_of_the_exponential_step():
    for attempt in range(1, backoff.MAX_ATTEMPTS):
        base = backoff.FIRST_WAIT * backoff.GROWTH ** (attempt - 1)
        seen = {backoff.retry_wait(attempt, random.Random(seed)) for seed in range(50)}
        assert all(base * 0.8 <= wait <= base * 1.2 for wait in seen)
        assert len(seen) > 40, "waits after one outage do not all fall on the same second"


def test_next_retry_at_is_now_plus_the_wait_or_never():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
    first = backoff.next_retry_at(now, 1, random.Random(1))

    assert now + timedelta(seconds=64) <= first <= now + timedelta(seconds=96)
    assert backoff.next_retry_at(now, 8) is None
    assert backoff.DISABLE_AFTER_FAILURES == 10
