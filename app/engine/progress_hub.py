"""One reader per web process for every run being watched, fanning events out to watchers.

Each live-progress stream (``GET /api/runs/<id>/events``) used to block in an ``XREAD`` of
its own: 200 browsers watching meant 200 Redis connections held open and 200 threads
waking every two seconds. Now a watcher first catches up on its own with a non-blocking
read (``XRANGE``), then registers its run and cursor here; one thread per process blocks in
a single ``XREAD`` over every watched stream, at each watcher's cursor, and hands each
watcher the events past its cursor through a queue. A waiting watcher sleeps on its queue,
and the process holds one Redis connection for all of them.

A watcher added while the reader is blocked joins its next read, at most ``block_ms``
later, from its own cursor: nothing is lost in between, only delayed by that much.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from typing import Any, Callable

import redis

from .progress import parse_entries, stream_key

log = logging.getLogger(__name__)

Event = tuple[str, str, dict[str, Any]]


def _order(entry_id: str) -> tuple[int, int]:
    """A stream id's place in its stream (``1700000000000-3`` → ``(1700000000000, 3)``)."""
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class Watcher:
    """One client's view of one run's stream, fed by the hub."""

    def __init__(self, run_id: uuid.UUID | str, after: str, key: str | None = None) -> None:
        self.key = key or stream_key(run_id)
        self.cursor = after
        self._events: queue.SimpleQueue[list[Event]] = queue.SimpleQueue()

    def deliver(self, events: list[Event], read_after: str) -> None:
        """Take the events past this watcher's cursor, from a read that started after
        ``read_after``. A watcher whose cursor is further back (it joined during that read)
        takes none: the next read starts from its cursor, so it gets them in order then."""
        if _order(self.cursor) < _order(read_after):
            return
        fresh = [event for event in events if _order(event[0]) > _order(self.cursor)]
        if fresh:
            self.cursor = fresh[-1][0]
            self._events.put(fresh)

    def next(self, timeout: float) -> list[Event]:
        """The events that arrived since the last call, waiting up to ``timeout`` seconds for
        some (``[]`` when none came)."""
        try:
            batch = self._events.get(timeout=timeout)
        except queue.Empty:
            return []
        while True:  # take everything already waiting, in order
            try:
                batch = batch + self._events.get_nowait()
            except queue.Empty:
                return batch


class ProgressHub:
    """Reads every watched stream with one blocking ``XREAD`` in one thread.

    :param client_factory: makes the reader's Redis client (its own connection).
    :param block_ms: the longest single blocking read; also how late a new watcher joins.
    """

    def __init__(self, client_factory: Callable[[], redis.Redis], block_ms: int = 1000) -> None:
        self._client_factory = client_factory
        self.block_ms = block_ms
        self._lock = threading.Lock()
        self._watchers: dict[str, set[Watcher]] = {}
        self._someone_watches = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.reads = 0  # XREAD calls made: a measure of the hub's own work

    def close(self) -> None:
        """Stop reading (after the read under way); watchers get nothing more."""
        self._closed = True
        self._someone_watches.set()
        if self._thread is not None:
            self._thread.join(timeout=self.block_ms / 1000 + 1)

    @property
    def watching(self) -> int:
        with self._lock:
            return sum(len(watchers) for watchers in self._watchers.values())

    def watch(self, run_id: uuid.UUID | str, after: str, key: str | None = None) -> Watcher:
        """Start delivering the run's events past ``after`` to a new watcher (``key``: another
        stream than the run's, such as a person's notifications)."""
        watcher = Watcher(run_id, after, key)
        with self._lock:
            self._watchers.setdefault(watcher.key, set()).add(watcher)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._read_forever, name="inkwright-progress-hub",
                                                daemon=True)
                self._thread.start()
        self._someone_watches.set()
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            watchers = self._watchers.get(watcher.key)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[watcher.key]
            if not self._watchers:
                self._someone_watches.clear()

    def _cursors(self) -> dict[str, str]:
        """Each watched stream, read from the earliest cursor of its watchers."""
        with self._lock:
            return {key: min((w.cursor for w in watchers), key=_order)
                    for key, watchers in self._watchers.items() if watchers}

    def _read_forever(self) -> None:
        client = self._client_factory()
        while not self._closed:
            self._someone_watches.wait()
            cursors = self._cursors()
            if not cursors:
                continue
            try:
                found = client.xread(cursors, count=500, block=self.block_ms)
                self.reads += 1
            except redis.RedisError:
                if self._closed:
                    break
                log.warning("the progress hub could not read %d stream(s); trying again", len(cursors),
                            exc_info=True)
                time.sleep(1.0)  # not a busy loop while Redis is away; watchers keep waiting
                continue
            for key, entries in found or []:
                name = key.decode() if isinstance(key, bytes) else key
                events = parse_entries(entries)
                with self._lock:
                    watchers = list(self._watchers.get(name, ()))
                for watcher in watchers:
                    watcher.deliver(events, cursors[name])
        client.close()
