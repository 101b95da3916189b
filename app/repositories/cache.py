"""A small TTL cache for hot lookups that repositories may opt into (seed 002)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

from cachetools import TTLCache

from ..clock import Clock, SystemClock

_MISSING = object()


class RepositoryCache:
    """Process-local cache of plain values (never ORM objects, which belong to a session).

    Writes through a repository invalidate their own keys; other processes see a change
    after at most ``ttl`` seconds, so only data that may be that stale is cached.

    :param ttl: seconds a value is served before it is loaded again; 0 switches caching off.
    :param clock: measures the TTL (the app's clock, so a test can let a value expire);
        the system's by default. Repositories reach the app's clock through this cache.
    """

    def __init__(self, ttl: int, maxsize: int = 4096, *, clock: Clock | None = None) -> None:
        self.ttl = ttl
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._data: TTLCache | None = (TTLCache(maxsize=maxsize, ttl=ttl, timer=self.clock.monotonic)
                                       if ttl > 0 else None)
        self.hits = 0
        self.misses = 0

    def get_or_load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        if self._data is None:
            return loader()
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is not _MISSING:
                self.hits += 1
                return value
            self.misses += 1
        value = loader()
        if value is not None:
            with self._lock:
                self._data[key] = value
        return value

    def invalidate(self, key: Hashable) -> None:
        if self._data is not None:
            with self._lock:
                self._data.pop(key, None)

    def clear(self) -> None:
        if self._data is not None:
            with self._lock:
                self._data.clear()
