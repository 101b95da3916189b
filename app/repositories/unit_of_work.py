"""The unit of work: one per database session, so one transaction per request or job (seed 002).

Every :class:`~app.repositories.Repositories` factory over a session, whatever tenant it is
scoped to, and every ``for_tenant`` view of it, hands out the same unit of work, kept in
``session.info``: a ``with`` of one factory inside a ``with`` of another joins it instead of
committing its unfinished work (issue 9).

The outermost ``with`` commits, or rolls back when its block raises. A nested ``with`` is a
SAVEPOINT: when its block raises, exactly that block's changes and events are taken back,
even if the caller catches the exception and goes on; when it ends well, its events wait
for the outermost commit. The outermost block issues no SAVEPOINT, so the common case costs
what a plain transaction costs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from ..errors import ConflictError
from ..events import DomainEvent
from ..models import DomainEventRecord
from .events import EventLogRepository
from .failures import repository_error

log = logging.getLogger(__name__)

#: Where a session keeps its unit of work (``Session.info`` lives exactly as long as the session).
SESSION_INFO_KEY = "inkwright.unit_of_work"


class OpenTransactionError(RuntimeError):
    """A request to end or bypass the transaction while a ``with`` block still owns it.

    Always a programming error: obeying it would discard, or leave uncommitted, the work of
    the block that is open.
    """


@dataclass
class _Block:
    """One open ``with``: its SAVEPOINT (``None`` for the outermost) and the events published in it."""

    savepoint: SessionTransaction | None
    events: list[DomainEvent] = field(default_factory=list)


class UnitOfWork:
    """Collects changes and events; the outermost block commits, then hands the events on.

    Used through :meth:`Repositories.transaction`, never built by hand: there is one per
    session (see :meth:`of`).

    :param session: the session of this request or job.
    :param event_log: where published events are recorded, in the same transaction.
    :param on_committed: receives the events of each committed transaction, after the commit.
    """

    def __init__(self, session: Session, event_log: EventLogRepository,
                 on_committed: Callable[[list[DomainEvent]], None]) -> None:
        self.session = session
        self.event_log = event_log
        self.on_committed = on_committed
        self._blocks: list[_Block] = []
        # Published outside any ``with``: handed on by the next commit, dropped by a rollback.
        self._unbound: list[DomainEvent] = []

    @classmethod
    def of(cls, session: Session, event_log: Callable[[], EventLogRepository],
           on_committed: Callable[[list[DomainEvent]], None]) -> "UnitOfWork":
        """The session's unit of work, made on first use; the arguments serve only that first time."""
        unit = session.info.get(SESSION_INFO_KEY)
        if unit is None:
            unit = session.info[SESSION_INFO_KEY] = cls(session, event_log(), on_committed)
        return unit

    @property
    def is_open(self) -> bool:
        """Whether a ``with`` block is open, so the transaction belongs to someone."""
        return bool(self._blocks)

    def publish(self, event: DomainEvent) -> DomainEvent:
        """Record the event in this transaction; subscribers hear of it after the outermost commit.

        An event published in a block that is rolled back is dropped with the block.
        """
        self.event_log.append(DomainEventRecord(
            id=event.id, tenant_id=event.tenant_id, type=event.type, aggregate_id=event.aggregate_id,
            actor_user_id=event.actor_id, payload=event.payload, version=event.version,
            occurred_at=event.timestamp,
        ))
        (self._blocks[-1].events if self._blocks else self._unbound).append(event)
        return event

    def outermost(self) -> "UnitOfWork":
        """This unit of work, for a ``with`` that must commit when it ends, never join another.

        For work that has to be in the database before something outside it happens: the
        credit hold that must be committed before a provider is called, so two workers
        racing cannot overspend one balance.

        :raises OpenTransactionError: when a block is open, since its end would commit instead.
        """
        if self._blocks:
            raise OpenTransactionError("This must commit on its own, but a transaction is open around it.")
        return self

    def end_read(self) -> None:
        """End the session's transaction of reads, so none stays open while something slow
        happens (a provider answers, a stream waits, a skill works).

        What the session holds outside any block was never going to be committed by anyone,
        so it is rolled back, with the events published outside a block.

        :raises OpenTransactionError: inside a ``with`` block, whose work this would discard.
        """
        if self._blocks:
            raise OpenTransactionError("The read cannot end here: a transaction is open and would be lost.")
        self._roll_back()

    def __enter__(self) -> "UnitOfWork":
        # The outermost block runs in the session's own transaction: no SAVEPOINT for it.
        savepoint = self.session.begin_nested() if self._blocks else None
        self._blocks.append(_Block(savepoint))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        block = self._blocks.pop()
        if block.savepoint is None:
            if exc_type is not None:
                self._roll_back()
            else:
                self._commit(block.events)
        elif exc_type is not None:
            self._roll_back_to(block)
        else:
            self._release(block)

    # The outermost block ---------------------------------------------------------------------
    def _roll_back(self) -> None:
        self._unbound.clear()
        self.session.rollback()

    def _commit(self, block_events: list[DomainEvent]) -> None:
        events, self._unbound = [*self._unbound, *block_events], []
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            raise ConflictError("This conflicts with data that already exists.") from exc
        except SQLAlchemyError as exc:
            self.session.rollback()
            raise repository_error("commit", "UnitOfWork", exc) from exc
        if events:
            try:
                self.on_committed(events)
            except Exception:  # noqa: BLE001
                # The change is committed and its events recorded; a failed hand-on (Redis
                # down, say) must not turn a done change into an error for the caller.
                log.exception("committed events could not be handed on: %s", [e.id for e in events])

    # A nested block --------------------------------------------------------------------------
    def _roll_back_to(self, block: _Block) -> None:
        # The block's events are simply not handed to the enclosing block: dropped with it.
        block.savepoint.rollback()

    def _release(self, block: _Block) -> None:
        # Releasing flushes the block's last changes, so a conflict shows here, in the block
        # that made it: it is taken back like any failed block, and the outer one may go on.
        try:
            block.savepoint.commit()
        except SQLAlchemyError as exc:
            self._roll_back_to(block)
            if isinstance(exc, IntegrityError):
                raise ConflictError("This conflicts with data that already exists.") from exc
            raise repository_error("commit", "UnitOfWork", exc) from exc
        enclosing = self._blocks[-1]
        enclosing.events.extend(block.events)
