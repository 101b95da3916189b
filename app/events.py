"""Domain events (seed 000's DomainEvent and EventBus).

An event is recorded in the same transaction as the change it describes, and handed to
subscribers only after that transaction commits, so no handler ever reacts to something
that was rolled back. Handlers subscribe in process (core or plugin); a handler marked
``background`` runs on an RQ worker instead, through ``app.jobs.deliver_event``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from .models.base import utcnow

log = logging.getLogger(__name__)

#: Subscribing to this type receives every event.
ANY = "*"


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, named in the past tense: ``user.registered``.

    :param type: dotted name of the event.
    :param aggregate_id: id of the entity the event is about.
    :param payload: JSON-serialisable facts of the event.
    :param tenant_id: the tenant it happened in; ``None`` for platform-level events.
    :param actor_id: the user who caused it, when one did.
    """

    type: str
    aggregate_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    tenant_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    timestamp: datetime = field(default_factory=utcnow)
    version: int = 1


Handler = Callable[[DomainEvent], None]


@dataclass(frozen=True)
class Subscription:
    handler: Handler
    background: bool = False

    @property
    def name(self) -> str:
        return f"{getattr(self.handler, '__module__', '?')}.{getattr(self.handler, '__qualname__', self.handler)!s}"


class EventBus:
    """Publish/subscribe within one app. Built per app; plugins add handlers at start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[str, list[Subscription]] = defaultdict(list)

    def subscribe(self, event_type: str, handler: Handler, *, background: bool = False) -> None:
        """Call ``handler`` for every committed event of ``event_type`` (``"*"`` for all).

        :param background: run the handler on a worker rather than in the publishing process.
        """
        with self._lock:
            self._subscriptions[event_type].append(Subscription(handler, background))

    def unsubscribe(self, event_type: str, handler: Handler) -> None:
        with self._lock:
            self._subscriptions[event_type] = [
                # ``!=``, not ``is not``: each ``obj.method`` access makes a new bound
                # method, equal to (never identical with) the one that subscribed.
                s for s in self._subscriptions[event_type] if s.handler != handler
            ]

    def subscriptions(self, event_type: str) -> list[Subscription]:
        with self._lock:
            return [*self._subscriptions.get(event_type, ()), *self._subscriptions.get(ANY, ())]

    def has_background_handlers(self, event_type: str) -> bool:
        return any(s.background for s in self.subscriptions(event_type))

    def dispatch(self, event: DomainEvent, *, background: bool = False) -> list[str]:
        """Call the in-process (or, with ``background``, the background) handlers.

        A failing handler is logged and skipped: one plugin's bug must not undo or block
        what another part of the product already committed.

        :returns: the names of handlers that raised.
        """
        failed = []
        for subscription in self.subscriptions(event.type):
            if subscription.background != background:
                continue
            try:
                subscription.handler(event)
            except Exception:  # noqa: BLE001 - a handler's failure is reported, not propagated
                log.exception("event handler %s failed on %s %s", subscription.name, event.type, event.id)
                failed.append(subscription.name)
        return failed
