"""The unit of work: one transaction, committed or rolled back as a whole (seed 002)."""

from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import ConflictError, RepositoryError
from ..events import DomainEvent
from ..models import DomainEventRecord
from .events import EventLogRepository

log = logging.getLogger(__name__)


class UnitOfWork:
    """Collects changes and events; on success commits, then hands the events on.

    Used through :meth:`Repositories.transaction`; a nested ``with`` joins the outer one,
    so a service can be called from another service without committing half a change.
    """

    def __init__(self, session: Session, event_log: EventLogRepository,
                 on_committed: Callable[[list[DomainEvent]], None]) -> None:
        self.session = session
        self.event_log = event_log
        self.on_committed = on_committed
        self.pending: list[DomainEvent] = []
        self.depth = 0

    def publish(self, event: DomainEvent) -> DomainEvent:
        """Record the event in this transaction; subscribers hear of it after commit."""
        self.event_log.append(DomainEventRecord(
            id=event.id, tenant_id=event.tenant_id, type=event.type, aggregate_id=event.aggregate_id,
            actor_user_id=event.actor_id, payload=event.payload, version=event.version,
            occurred_at=event.timestamp,
        ))
        self.pending.append(event)
        return event

    def __enter__(self) -> "UnitOfWork":
        self.depth += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.depth -= 1
        if self.depth:
            return
        if exc_type is not None:
            self.rollback()
            return
        self.commit()

    def rollback(self) -> None:
        self.pending.clear()
        self.session.rollback()

    def commit(self) -> None:
        events, self.pending = self.pending, []
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            raise ConflictError("This conflicts with data that already exists.") from exc
        except SQLAlchemyError as exc:
            self.session.rollback()
            raise RepositoryError("commit", "UnitOfWork", exc) from exc
        if events:
            try:
                self.on_committed(events)
            except Exception:  # noqa: BLE001
                # The change is committed and its events recorded; a failed hand-on (Redis
                # down, say) must not turn a done change into an error for the caller.
                log.exception("committed events could not be handed on: %s", [e.id for e in events])
