"""Recorded domain events: appended by the unit of work, read per tenant."""

from __future__ import annotations

from ..models import DomainEventRecord
from .base import ScopedRepository, SystemRepository, operation


class EventLogRepository(SystemRepository[DomainEventRecord]):
    """The event log's writer, and its reader by id.

    System scope: each record carries its own tenant (or none, for a platform event), so the
    unit of work appends every tenant's events through one writer; the worker delivering an
    event knows only its id until the record is read.
    """

    model = DomainEventRecord

    @operation
    def append(self, record: DomainEventRecord) -> DomainEventRecord:
        self.session.add(record)
        return record


class DomainEventRepository(ScopedRepository[DomainEventRecord]):
    """A tenant's events, newest first, for the API and for consumers such as webhooks."""

    model = DomainEventRecord
