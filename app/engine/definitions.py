"""Parsed workflow definitions of recent runs, kept per process."""

from __future__ import annotations

import threading

from cachetools import LRUCache

from ..models import Run
from ..workflows.definition import WorkflowDefinition


class DefinitionCache:
    """Parsed definitions of recent runs. A run's definition never changes, and reading and
    parsing it for every step of a thousand-step run would make the run quadratic."""

    def __init__(self, maxsize: int = 256) -> None:
        self._lock = threading.Lock()
        self._parsed: LRUCache = LRUCache(maxsize=maxsize)

    def of(self, run: Run) -> WorkflowDefinition:
        with self._lock:
            found = self._parsed.get(run.id)
        if found is None:
            found = WorkflowDefinition.from_dict(run.definition)
            with self._lock:
                self._parsed[run.id] = found
        return found
