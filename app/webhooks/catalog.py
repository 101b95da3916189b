"""The catalog of event types a webhook may subscribe to: the core's and each plugin's.

Only declared types can be subscribed to, so a typo (``run.complete``) is refused when the
webhook is saved instead of silently never firing. The core declares what it publishes
below; a plugin declares its own with :meth:`app.toolkit.Plugin.event_types`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Iterator

from ..plugin_contract import EventType
from ..registry import PluginRegistry

log = logging.getLogger(__name__)

#: What a person's "send test event" posts; always accepted, never published on the bus.
TEST_EVENT = EventType("webhook.test", "A test event sent from the studio or the API.")

#: The domain events the core publishes (app/engine, app/auth, app/tenancy, app/api/account).
CORE_EVENT_TYPES: tuple[EventType, ...] = (
    EventType("run.created", "A run was started."),
    EventType("run.completed", "A run finished with every step done."),
    EventType("run.failed", "A run ended because a step failed."),
    EventType("run.crashed", "A run ended because a step's worker was lost too often."),
    EventType("run.cancelled", "A run was cancelled."),
    EventType("run.retried", "A failed run was started again from its failed steps."),
    EventType("api_key.created", "An API key was created."),
    EventType("api_key.revoked", "An API key was revoked."),
    EventType("membership.created", "A person joined the tenant."),
    EventType("membership.updated", "A member's role changed."),
    EventType("membership.removed", "A member left or was removed."),
    EventType("provider_key.added", "A provider key was added for the tenant."),
    EventType("provider_key.revoked", "One of the tenant's provider keys was revoked."),
    EventType("agent.run.completed", "A review agent finished its run, with its findings counted."),
    EventType("export.completed", "An export's file is ready to download (kept 30 days)."),
    EventType("export.failed", "An export could not be made; its error says why."),
)


@dataclass(frozen=True)
class EventCatalog:
    """The event types of one app, by name, in the order they were declared."""

    types: tuple[EventType, ...]

    @classmethod
    def build(cls, registry: PluginRegistry | None = None) -> "EventCatalog":
        """The core's types, then each enabled plugin's. A plugin whose ``event_types`` raises
        or answers something that is not an event type loses its types, never the app."""
        declared: dict[str, EventType] = {t.name: t for t in CORE_EVENT_TYPES}
        for name, plugin in (registry.plugins.items() if registry is not None else ()):
            try:
                offered = list(_event_types(plugin.event_types()))
            except Exception:  # noqa: BLE001 - a plugin's bug costs it its event types only
                log.warning("event_types of plugin %s failed", name, exc_info=True)
                continue
            for event_type in offered:
                declared.setdefault(event_type.name, event_type)
        return cls(tuple(declared.values()))

    def names(self) -> list[str]:
        return [t.name for t in self.types]

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.types)

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The names among ``names`` that no one declared."""
        known = set(self.names())
        return [name for name in names if name not in known]


def _event_types(offered: Iterable[EventType | str]) -> Iterator[EventType]:
    for item in offered:
        if isinstance(item, str):
            item = EventType(item)
        if not isinstance(item, EventType) or not item.name or item.name == TEST_EVENT.name:
            raise TypeError(f"not an event type: {item!r}")
        yield item
