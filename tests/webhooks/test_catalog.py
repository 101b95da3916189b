"""app/webhooks/catalog.py: the event types the core and each plugin declare."""

from __future__ import annotations

from app.registry import PluginRegistry
from app.toolkit import EventType, Plugin
from app.webhooks.catalog import CORE_EVENT_TYPES, EventCatalog


class Reviews(Plugin):
    name = "reviews"

    def event_types(self):
        return [EventType("review.completed", "A review finished."), "review.started", "run.completed"]


class Broken(Plugin):
    name = "broken"

    def event_types(self):
        raise RuntimeError("oops")


class Confused(Plugin):
    name = "confused"

    def event_types(self):
        return [42]


def registry_of(*plugins: Plugin) -> PluginRegistry:
    registry = PluginRegistry()
    registry.plugins.update({plugin.name: plugin for plugin in plugins})
    return registry


def test_the_core_declares_what_it_publishes_run_events_first():
    catalog = EventCatalog.build()

    assert catalog.names()[:3] == ["run.created", "run.completed", "run.failed"]
    assert {"run.cancelled", "api_key.created", "membership.removed"} <= set(catalog.names())
    assert all(t.description for t in CORE_EVENT_TYPES)


def test_plugins_add_their_types_after_the_cores_each_name_once():
    catalog = EventCatalog.build(registry_of(Reviews()))

    assert catalog.names()[-2:] == ["review.completed", "review.started"]
    assert catalog.names().count("run.completed") == 1
    assert "review.started" in catalog and "review.finished" not in catalog
    assert catalog.unknown(["review.started", "run.complete", "webhook.test"]) == ["run.complete", "webhook.test"]


def test_a_plugin_whose_declaration_fails_loses_its_types_not_the_app():
    catalog = EventCatalog.build(registry_of(Broken(), Confused(), Reviews()))

    assert "review.completed" in catalog
    assert len(catalog.names()) == len(CORE_EVENT_TYPES) + 2


def test_the_first_party_plugins_declare_their_events(app):
    from app.webhooks.service import webhook_runtime

    names = webhook_runtime(app).catalog.names()
    registry = app.extensions["inkwright"].registry
    if "stories" in registry.plugins:
        assert {"story.generation.started", "story.generation.completed"} <= set(names)
    if "writeit" in registry.plugins:
        assert "writeit.article.created" in names
