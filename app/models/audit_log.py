"""The audit log (seed 003 table 12): who did what, to which entity, from where.

Rows are appended in the transaction of the change they record (:mod:`app.audit`) and never
changed or removed by the application: the mapper refuses an UPDATE or a DELETE of one, so
not even a repository's generic ``save``/``delete`` can rewrite history.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text, Uuid, event
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, JSONType, Model, UUIDPrimaryKey


class AuditLogEntry(UUIDPrimaryKey, CreatedAt, Model):
    """One recorded action. ``tenant_id`` is the tenant it happened in; ``None`` for what
    belongs to no tenant (a failed sign-in with an unknown email)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )

    # SET NULL, not CASCADE: the record of what happened outlives the tenant and the person
    # (a platform administrator still reads it).
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="SET NULL"),
                                                        nullable=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"),
                                                      nullable=True, index=True)
    #: ``auth.login``, ``api_key.create``, ``run.cancel``, a plugin's ``article.export``…
    action: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    entity_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    #: Text, not a UUID: plugins' entities may have ids of their own (a primer's ``tech-journalist``).
    entity_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: The client's address (IPv6 at most 45 characters), as the trusted proxies report it.
    ip_address: Mapped[str | None] = mapped_column(String(45), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ``{field: {"before": …, "after": …}}`` of what changed, secrets masked.
    changes: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    #: Anything else worth knowing (how the caller signed in, a run's trigger); ``metadata``
    #: in the table and the API (a declarative model cannot have an attribute of that name).
    details: Mapped[dict | None] = mapped_column("metadata", JSONType, nullable=True)


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove an audit row: always a programming error."""


@event.listens_for(AuditLogEntry, "before_update")
def _refuse_update(_mapper, _connection, entry: AuditLogEntry) -> None:
    raise AppendOnlyError(f"audit log entry {entry.id} cannot be changed: the log is append-only")


@event.listens_for(AuditLogEntry, "before_delete")
def _refuse_delete(_mapper, _connection, entry: AuditLogEntry) -> None:
    raise AppendOnlyError(f"audit log entry {entry.id} cannot be removed: the log is append-only")
