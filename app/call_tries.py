"""The tries of one model call, as the provider made them (issue 12: one retry budget a call).

A provider may try a call more than once inside its one budget: its transport retries a 503
or a refused connection, its structured output falls back from one form to the next. Each
try that failed is noted here, and the metering layer writes every one to the usage log
beside the try that ended the call, so a person sees what a call really cost in tries.

The notes live in a context variable the metering layer opens around each call, so
providers (a third party's too, through :mod:`app.toolkit`) note tries without being handed
anything, and a note outside a metered call is simply dropped.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from .errors import ProviderRateLimitedError, ProviderTimeoutError

#: The longest message kept for one failed try (the usage log's row, not a transcript).
_MAX_MESSAGE = 500


@dataclass(frozen=True)
class FailedTry:
    """One try of a call that did not answer: why, and how long it took."""

    code: str
    message: str
    elapsed_ms: int
    rate_limited: bool = False
    timed_out: bool = False


_notes: ContextVar[list[FailedTry] | None] = ContextVar("inkwright_call_tries", default=None)


@contextmanager
def recording_tries() -> Iterator[list[FailedTry]]:
    """Collect the failed tries noted while the block runs (one metered call)."""
    notes: list[FailedTry] = []
    token = _notes.set(notes)
    try:
        yield notes
    finally:
        _notes.reset(token)


def note_failed_try(error: BaseException, started: float | None = None) -> None:
    """Note that one try of the current call failed with ``error`` and another follows.

    :param started: ``time.perf_counter()`` when the try began, for its duration.
    """
    notes = _notes.get()
    if notes is None:
        return
    elapsed_ms = int((time.perf_counter() - started) * 1000) if started is not None else 0
    code = str(getattr(error, "code", None) or type(error).__name__)
    message = str(getattr(error, "message", None) or error)[:_MAX_MESSAGE]
    notes.append(FailedTry(code=code, message=message, elapsed_ms=max(0, elapsed_ms),
                           rate_limited=isinstance(error, ProviderRateLimitedError),
                           timed_out=isinstance(error, ProviderTimeoutError)))


__all__ = ["FailedTry", "note_failed_try", "recording_tries"]
