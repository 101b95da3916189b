"""The text of a streamed model call, on the run's live events as it is written (issue 12).

A skill that asks ``ctx.generate(..., stream=True)`` has the provider stream its answer; each
piece reaches a :class:`TextStream`, which publishes ``step.text`` events to the run's Redis
stream, at most one per ``every`` seconds per step and candidate, so a fast model does not
flood Redis and the page. Each event carries only the new text, the ``offset`` it starts at
and its ``length`` (both in Python's characters, which a page's UTF-16 strings would count
differently), and the ``part`` it belongs to (a step may make several calls: a chapter and its
continuations): a page that replays the stream from its start (or resumes with
``Last-Event-ID``) puts the pieces together into everything written so far, in order.

Like every live event it is a view, never the truth: the step's output, written when it
completes, is.
"""

from __future__ import annotations

import uuid
from typing import Callable

from .progress import RunEvents

#: The least time between two ``step.text`` events of one step and candidate.
TEXT_EVERY_SECONDS = 0.1


class TextStream:
    """Pieces of one call's answer, published in order, throttled.

    :param monotonic: the clock the throttle reads (the app's clock; tests pass a manual one).
    """

    def __init__(self, events: RunEvents, run_id: uuid.UUID, step_key: str, candidate: int, part: int,
                 monotonic: Callable[[], float], every: float = TEXT_EVERY_SECONDS) -> None:
        self.events = events
        self.part = part
        self.run_id = run_id
        self.step_key = step_key
        self.candidate = candidate
        self.monotonic = monotonic
        self.every = every
        self.published = 0  # characters already on the stream
        self._pending: list[str] = []
        self._last = float("-inf")

    def write(self, piece: str) -> None:
        """Take the next piece of the answer; publish what is pending if it is time."""
        if not piece:
            return
        self._pending.append(piece)
        if self.monotonic() - self._last >= self.every:
            self.flush()

    def flush(self, done: bool = False) -> None:
        """Publish what is pending now (and, with ``done``, that the answer is whole)."""
        text = "".join(self._pending)
        if not text and not done:
            return
        self._pending.clear()
        self._last = self.monotonic()
        self.events.publish(self.run_id, "step.text", step=self.step_key, candidate=self.candidate,
                            part=self.part, offset=self.published, length=len(text), text=text, done=done)
        self.published += len(text)
