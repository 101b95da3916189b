"""Counters and timings of repository operations (seed 002's metrics collector)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass
class OperationStats:
    calls: int = 0
    errors: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


class RepositoryMetrics:
    """Per ``(entity, operation)`` call counts, error counts and durations.

    One instance per app; threads of a web server share it, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], OperationStats] = {}

    def record(self, entity: str, operation: str, elapsed_ms: float, failed: bool) -> None:
        with self._lock:
            stats = self._stats.setdefault((entity, operation), OperationStats())
            stats.calls += 1
            stats.errors += int(failed)
            stats.total_ms += elapsed_ms
            stats.max_ms = max(stats.max_ms, elapsed_ms)

    def get(self, entity: str, operation: str) -> OperationStats:
        with self._lock:
            return OperationStats(**asdict(self._stats.get((entity, operation), OperationStats())))

    def snapshot(self) -> list[dict]:
        """Every operation's figures, busiest first, ready to show or serialise."""
        with self._lock:
            rows = [
                {"entity": entity, "operation": operation, "calls": s.calls, "errors": s.errors,
                 "total_ms": round(s.total_ms, 3), "mean_ms": round(s.mean_ms, 3),
                 "max_ms": round(s.max_ms, 3)}
                for (entity, operation), s in self._stats.items()
            ]
        return sorted(rows, key=lambda row: (-row["calls"], row["entity"], row["operation"]))
