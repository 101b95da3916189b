"""The app's clock (app/clock.py): the system's by default, a manual one under a test's hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.clock import ManualClock, SystemClock
from app.runtime import current_state


def test_a_manual_clock_stands_still_until_advanced_and_both_readings_move_together():
    start = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    clock = ManualClock(start)

    assert (clock.now(), clock.monotonic()) == (start, 0.0)
    assert clock.now() == start  # nothing passes by itself
    clock.advance(90.5)
    assert (clock.now(), clock.monotonic()) == (start + timedelta(seconds=90.5), 90.5)


def test_a_manual_clock_never_goes_back_and_never_shows_a_naive_time():
    with pytest.raises(ValueError, match="back"):
        ManualClock().advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 3, 1, 9, 30))


def test_the_system_clock_tells_utc_aware_time():
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_an_app_runs_on_the_system_clock_unless_given_one(make_app):
    assert isinstance(current_state(make_app()).clock, SystemClock)
    mine = ManualClock()
    assert current_state(make_app(clock=mine)).clock is mine
