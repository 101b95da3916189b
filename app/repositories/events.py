"""Recorded domain events: appended by the unit of work, read per tenant."""

from __future__ import annotations

from ..models import DomainEventRecord
from .base import Repository, ScopedRepository, operation


class EventLogRepository(Repository[DomainEventRecord]):
    """Append-only writer; each record carries its own tenant (or none for platform events)."""

    model = DomainEventRecord

    @operation
    def append(self, record: DomainEventRecord) -> DomainEventRecord:
        self.session.add(record)
        return record


class DomainEventRepository(ScopedRepository[DomainEventRecord]):
    """A tenant's events, newest first, for the API and for consumers such as webhooks."""

    model = DomainEventRecord
