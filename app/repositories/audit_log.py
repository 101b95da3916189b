"""The audit log (seed 003 table 12): appended by :mod:`app.audit`, read per tenant or by
platform administrators across every tenant.

Append-only: there is one writer, which only adds, and the readers refuse ``save`` and
``delete`` (the model refuses an UPDATE or DELETE of a row besides, whoever flushes it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..errors import RepositoryError
from ..models import AuditLogEntry
from .base import Repository, ScopedRepository, SystemRepository, operation

_INSERT = AuditLogEntry.__table__.insert()


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read; every given field narrows the list.

    :param user_id: entries of this actor.
    :param action: entries of this action (``api_key.create``).
    :param entity_type: entries about this kind of entity (``run``).
    :param entity_id: entries about this entity.
    :param since: entries at or after this moment.
    :param until: entries at or before this moment.
    :param tenant_id: the platform-wide reader only: entries of this tenant.
    """

    user_id: uuid.UUID | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tenant_id: uuid.UUID | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditLogEntry] = field(default_factory=list)
    total: int = 0


class _AppendOnly(Repository[AuditLogEntry]):
    """What every audit repository shares: no way to change or remove an entry."""

    model: ClassVar[type] = AuditLogEntry

    def save(self, instance: AuditLogEntry) -> AuditLogEntry:
        raise RepositoryError("save", self.entity, message="The audit log is append-only.")

    def delete(self, instance: AuditLogEntry) -> None:
        raise RepositoryError("delete", self.entity, message="The audit log is append-only.")

    def _criteria(self, audit_filter: AuditFilter) -> list[Any]:
        criteria: list[Any] = []
        for column, value in ((AuditLogEntry.user_id, audit_filter.user_id),
                              (AuditLogEntry.action, audit_filter.action),
                              (AuditLogEntry.entity_type, audit_filter.entity_type),
                              (AuditLogEntry.entity_id, audit_filter.entity_id)):
            if value is not None:
                criteria.append(column == value)
        if audit_filter.since is not None:
            criteria.append(AuditLogEntry.created_at >= audit_filter.since)
        if audit_filter.until is not None:
            criteria.append(AuditLogEntry.created_at <= audit_filter.until)
        return criteria

    def _page(self, criteria: list[Any], limit: int, offset: int) -> AuditPage:
        items, total = self.page(*criteria, order_by=[AuditLogEntry.created_at.desc(), AuditLogEntry.id.desc()],
                                 limit=limit, offset=offset)
        return AuditPage(items, total)


class AuditLogWriter(SystemRepository[AuditLogEntry]):
    """The audit log's one writer.

    System scope: each entry carries its own tenant (or none, for a failed sign-in with an
    unknown email), so one writer appends for every tenant, as the event log's does; it adds
    and never reads.
    """

    model = AuditLogEntry

    @operation
    def append(self, values: dict[str, Any]) -> None:
        """Insert one entry, given as its column values, in the session's transaction.

        A Core INSERT on the session's connection, not an ORM object: the entry is never
        read back or changed, and building and flushing a mapped object cost the recorded
        request more than the statement itself (``bench/audit_overhead.py``).
        """
        self.session.connection().execute(_INSERT, values)

    def save(self, instance: AuditLogEntry) -> AuditLogEntry:
        raise RepositoryError("save", self.entity, message="The audit log is append-only.")

    def delete(self, instance: AuditLogEntry) -> None:
        raise RepositoryError("delete", self.entity, message="The audit log is append-only.")


class AuditLogRepository(_AppendOnly, ScopedRepository[AuditLogEntry]):
    """One tenant's audit log, newest first, for its owners and admins."""

    @operation
    def search(self, audit_filter: AuditFilter, *, limit: int = 50, offset: int = 0) -> AuditPage:
        return self._page(self._criteria(audit_filter), limit, offset)


class PlatformAuditLog(_AppendOnly, SystemRepository[AuditLogEntry]):
    """Every tenant's audit log, for platform administrators.

    System scope: a platform administrator answers for the whole installation (sign-ins that
    failed before any tenant was known, every tenant's changes), so this reads across tenants;
    the API and the studio call it only for ``User.is_platform_admin``.
    """

    @operation
    def search(self, audit_filter: AuditFilter, *, limit: int = 50, offset: int = 0) -> AuditPage:
        criteria = self._criteria(audit_filter)
        if audit_filter.tenant_id is not None:
            criteria.append(AuditLogEntry.tenant_id == audit_filter.tenant_id)
        return self._page(criteria, limit, offset)
