"""What never changes about a run, kept per process: its definition, inputs and lineage.

A step's job needs its run's workflow definition, inputs, tenant and family, none of which
change after the run is created. Reading (and parsing) them for every step of a
thousand-step run would make the run quadratic, and would cost every job a query.

The cache reads through the tenant's :class:`~app.repositories.runs.RunRepository` (the
executor knows the step's tenant when it asks), and keeps each snapshot under its tenant and
id, so a run id presented in another tenant is never answered from here.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from cachetools import LRUCache

from ..repositories.runs import RunRepository
from ..workflows.definition import WorkflowDefinition


@dataclass(frozen=True)
class RunSnapshot:
    """The immutable part of a run. Its status and counters are read under the run's lock."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    workflow_name: str
    root_run_id: uuid.UUID
    inputs: dict[str, Any]
    definition: WorkflowDefinition
    #: Who started it: their credits and their own provider keys pay for its model calls.
    created_by_user_id: uuid.UUID | None = None


class DefinitionCache:
    """Parsed definitions and snapshots of recent runs, least recently used first out."""

    def __init__(self, maxsize: int = 256) -> None:
        self._lock = threading.Lock()
        self._definitions: LRUCache = LRUCache(maxsize=maxsize)
        self._snapshots: LRUCache = LRUCache(maxsize=maxsize)

    def definition(self, run_id: uuid.UUID, load: Callable[[], dict[str, Any]]) -> WorkflowDefinition:
        with self._lock:
            found = self._definitions.get(run_id)
        if found is None:
            found = WorkflowDefinition.from_dict(load())
            with self._lock:
                self._definitions[run_id] = found
        return found

    def remember(self, run_id: uuid.UUID, definition: WorkflowDefinition) -> None:
        """Keep the definition of a run just created (its creator has it parsed already)."""
        with self._lock:
            self._definitions[run_id] = definition

    def snapshot(self, runs: RunRepository, run_id: uuid.UUID) -> RunSnapshot | None:
        """The immutable part of a run of ``runs``'s tenant, read once per process.

        :param runs: the run repository of the tenant asking.
        :param run_id: the run.
        :returns: the snapshot, or ``None`` when the tenant has no such run.
        """
        key = (runs.tenant_id, run_id)
        with self._lock:
            found = self._snapshots.get(key)
        if found is not None:
            return found
        row = runs.snapshot_of(run_id)
        if row is None:
            return None
        found = RunSnapshot(row.id, row.tenant_id, row.workflow_name, row.root_run_id, row.inputs,
                            self.definition(row.id, lambda: row.definition), row.created_by_user_id)
        with self._lock:
            self._snapshots[key] = found
        return found
