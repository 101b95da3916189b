"""Live progress of runs: a Redis stream per run, written by workers, read as SSE.

The stream is a view for watchers, never the truth (that is the database): entries are
written after the change they describe has committed, capped in length, and expire a day
after the last one. A watcher that reconnects passes the last id it saw and resumes.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable, Iterator

import redis

from ..statuses import RunStatus

log = logging.getLogger(__name__)

STREAM_TTL_SECONDS = 24 * 3600
STREAM_MAX_LENGTH = 10_000
#: Progress events that say a run has ended (``Scheduler.note``'s ``run.<status>``).
RUN_ENDINGS = frozenset(f"run.{status.value}" for status in RunStatus if status.is_terminal)


def stream_key(run_id: uuid.UUID | str) -> str:
    return f"inkwright:run:{run_id}:events"


def parse_entries(entries: list[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Stream entries as Redis returns them, as ``(id, type, data)``."""
    events = []
    for entry_id, fields in entries:
        entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        kind = fields.get(b"type", fields.get("type", b""))
        data = fields.get(b"data", fields.get("data", b"{}"))
        events.append((entry_id, kind.decode() if isinstance(kind, bytes) else kind,
                       json.loads(data.decode() if isinstance(data, bytes) else data)))
    return events


class RunEvents:
    """Append to and read from the per-run event streams."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def publish(self, run_id: uuid.UUID | str, kind: str, **data: Any) -> None:
        """Append one event; a Redis failure is logged, never raised (the change is committed)."""
        self.publish_many([(run_id, kind, data)])

    def publish_many(self, events: list[tuple[uuid.UUID | str, str, dict[str, Any]]]) -> None:
        """Append events in one round trip (all that one committed transaction produced)."""
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for run_id, kind, data in events:
                    key = stream_key(run_id)
                    pipe.xadd(key, {"type": kind, "data": json.dumps(data, default=str)},
                              maxlen=STREAM_MAX_LENGTH, approximate=True)
                    pipe.expire(key, STREAM_TTL_SECONDS)
                pipe.execute()
        except redis.RedisError:
            log.warning("could not publish %d events", len(events), exc_info=True)

    def read(self, run_id: uuid.UUID | str, after: str = "0", block_ms: int | None = None,
             count: int = 500) -> list[tuple[str, str, dict[str, Any]]]:
        """Events after the id ``after`` (``"0"``: from the start): ``(id, type, data)``."""
        key = stream_key(run_id)
        if block_ms is None:
            entries = self.client.xrange(key, min=f"({after}" if after != "0" else "-", count=count)
        else:
            found = self.client.xread({key: after}, count=count, block=block_ms)
            entries = found[0][1] if found else []
        return parse_entries(entries)

    def replay(self, run_id: uuid.UUID | str, after: str = "0") -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every event stored after ``after`` right now, read a page at a time (``read``
        alone stops at one page)."""
        while events := self.read(run_id, after):
            yield from events
            after = events[-1][0]

    def follow(self, run_id: uuid.UUID | str, after: str, is_finished: Callable[[], bool], hub: Any,
               block_ms: int = 15_000) -> Iterator[tuple[str, str, dict[str, Any]] | None]:
        """Yield events as they come; ``None`` when ``block_ms`` passed with nothing (a
        keep-alive moment); stop once the run has finished and nothing more is left.

        The watcher catches up by itself, then waits on ``hub`` (the process's one reader,
        :class:`~app.engine.progress_hub.ProgressHub`) instead of holding a blocking read of its
        own. Whether the run finished is asked when a run-ending event arrives, and at each
        keep-alive moment (which also ends a stream whose last events Redis lost).
        """
        for event in self.replay(run_id, after):  # catch up first: a finished run ends at once
            after = event[0]
            yield event
        if is_finished() and not self.read(run_id, after):
            return
        watcher = hub.watch(run_id, after)
        try:
            while True:
                events = watcher.next(timeout=block_ms / 1000)
                for event in events:
                    after = event[0]
                    yield event
                ending = any(kind in RUN_ENDINGS for _id, kind, _data in events)
                if (ending or not events) and is_finished():
                    # What came after the last event this client got, whether the hub has
                    # already queued it or not: read from the stream, so nothing is lost.
                    yield from self.replay(run_id, after)
                    return
                if not events:
                    yield None
        finally:
            hub.unwatch(watcher)
