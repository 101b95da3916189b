"""The app's clock: the one source of "now" for everything that expires or waits.

Credit holds, the repository cache, generation polls and the step context's throttles ask
the clock built in ``create_app`` (``InkwrightState.clock``) rather than the wall clock, so
a test moves time forward with :meth:`ManualClock.advance` instead of sleeping until
something expires (issue 9).

Two readings, because they answer different questions:

* :meth:`Clock.now` — a UTC-aware datetime, for what is stored (expiries, due times) and
  compared with stored times, as :func:`app.models.base.utcnow` gives.
* :meth:`Clock.monotonic` — seconds that only go forward, for intervals within one process
  (throttles, TTLs), which must not jump when the system's time is set.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """What a part that expires or waits needs of time."""

    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never go backwards."""
        ...


class SystemClock:
    """The machine's time: what every app runs on outside tests."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until it is told to move: time passes only by :meth:`advance`.

    Both readings move together, so a hold stored with ``now()`` and a TTL measured with
    ``monotonic()`` expire at the same step. Safe to read and advance from several threads
    (tests race workers in threads against one app).

    :param start: the time it shows first; the system's time at creation by default.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("a clock's start must be timezone-aware (UTC)")
        self._start = start or datetime.now(timezone.utc)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass at once.

        :raises ValueError: for a negative step: a clock never goes back.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go back in time")
        with self._lock:
            self._elapsed += float(seconds)

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now().isoformat()})"


__all__ = ["Clock", "ManualClock", "SystemClock"]
