"""Plugin discovery: entry points into a registry built per app.

A package that fails to import, or names something that is not what its group expects,
is reported with the reason and skipped; it never takes the app down. ``PLUGINS`` and
``DISABLED_PLUGINS`` decide which installed entry points are enabled, by entry-point
name or by distribution name.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Iterable

from flask import Flask
from flask_smorest import Api
from jinja2 import ChoiceLoader, FileSystemLoader

from .agent import Agent
from .config import Setting
from .errors import NotFoundError
from .events import EventBus
from .plugin_contract import Plugin
from .provider import Provider
from .skill import Skill

log = logging.getLogger(__name__)

SKILLS = "inkwright.skills"
AGENTS = "inkwright.agents"
PROVIDERS = "inkwright.providers"
PLUGINS = "inkwright.plugins"
GROUPS = (SKILLS, AGENTS, PROVIDERS, PLUGINS)

_BASE_CLASS = {SKILLS: Skill, AGENTS: Agent, PROVIDERS: Provider}


@dataclass
class PluginEntry:
    """One entry point and what became of it."""

    group: str
    name: str
    target: str
    distribution: str | None
    version: str | None
    enabled: bool = True
    obj: Any = None
    error: str | None = None
    detail: str | None = None

    @property
    def status(self) -> str:
        if not self.enabled:
            return "disabled"
        return "failed" if self.error else "loaded"


@dataclass
class PluginRegistry:
    """What this app found: skills, agents and providers by name, feature plugins, failures."""

    entries: list[PluginEntry] = field(default_factory=list)
    skills: dict[str, type[Skill]] = field(default_factory=dict)
    agents: dict[str, type[Agent]] = field(default_factory=dict)
    providers: dict[str, type[Provider]] = field(default_factory=dict)
    plugins: dict[str, Plugin] = field(default_factory=dict)

    @property
    def failures(self) -> list[PluginEntry]:
        return [entry for entry in self.entries if entry.status == "failed"]

    def fail(self, entry: PluginEntry, reason: str, detail: str | None = None) -> None:
        entry.error, entry.detail, entry.obj = reason, detail, None
        log.warning("plugin %s (%s) skipped: %s", entry.name, entry.group, reason)

    def skill(self, name: str) -> type[Skill]:
        """:raises NotFoundError: when no enabled plugin provides the skill."""
        try:
            return self.skills[name]
        except KeyError:
            raise NotFoundError(f"No skill named {name!r} is installed and enabled.", {"skill": name}) from None

    def settings(self) -> list[Setting]:
        return [*(setting for plugin in self.plugins.values() for setting in plugin.settings),
                *(setting for provider in self.providers.values() for setting in provider.settings)]

    def migration_locations(self) -> list[tuple[str, Path]]:
        """``(plugin name, versions folder)`` for each enabled plugin that carries migrations."""
        return [(name, Path(plugin.migrations)) for name, plugin in self.plugins.items() if plugin.migrations]

    def owned_tables(self) -> dict[str, str]:
        """Table name → owning plugin name, for every enabled plugin's models."""
        return {
            model.__table__.name: name
            for name, plugin in self.plugins.items()
            for model in plugin.models
        }


def _is_enabled(entry: PluginEntry, enabled: Iterable[str], disabled: Iterable[str]) -> bool:
    names = {entry.name, entry.distribution}
    if names & set(disabled):
        return False
    enabled = set(enabled)
    return "*" in enabled or bool(names & enabled)


def _describe(entry_point: EntryPoint, group: str) -> PluginEntry:
    dist = entry_point.dist
    return PluginEntry(
        group=group, name=entry_point.name, target=entry_point.value,
        distribution=dist.name if dist else None, version=dist.version if dist else None,
    )


def _load_class(registry: PluginRegistry, entry: PluginEntry, obj: Any, group: str) -> None:
    base = _BASE_CLASS[group]
    if not (isinstance(obj, type) and issubclass(obj, base)):
        registry.fail(entry, f"{entry.target} is not a subclass of app.toolkit.{base.__name__}")
        return
    problems = obj.definition_problems()
    if obj.name and obj.name != entry.name:
        problems.append(f"its name {obj.name!r} differs from the entry-point name {entry.name!r}")
    table = {SKILLS: registry.skills, AGENTS: registry.agents, PROVIDERS: registry.providers}[group]
    if entry.name in table:
        problems.append(f"another package already provides {entry.name!r}")
    if problems:
        registry.fail(entry, f"{obj.__name__} " + "; ".join(problems))
        return
    table[entry.name] = obj
    entry.obj = obj


def _load_plugin(registry: PluginRegistry, entry: PluginEntry, obj: Any) -> None:
    if isinstance(obj, type) and issubclass(obj, Plugin):
        obj = obj()
    if not isinstance(obj, Plugin):
        registry.fail(entry, f"{entry.target} is not an app.toolkit.Plugin")
        return
    name = obj.name or entry.name
    if name in registry.plugins:
        registry.fail(entry, f"another package already provides a plugin named {name!r}")
        return
    for setting in obj.settings:
        if not setting.key.startswith(name.upper().replace("-", "_") + "_"):
            registry.fail(entry, f"setting {setting.key} must carry the plugin's prefix {name.upper()}_")
            return
    problems = system_scope_problems(obj)
    if problems:
        registry.fail(entry, "; ".join(problems))
        return
    registry.plugins[name] = obj
    entry.obj = obj


def system_scope_problems(plugin: Plugin) -> list[str]:
    """What is wrong with a plugin's declared system scope: a declared class that is not a
    SystemRepository, or a SystemRepository of the plugin's package (among those imported by
    now) that it does not declare. A repository crossing tenants is reviewed, never implied."""
    from .repositories.base import SystemRepository

    declared = tuple(plugin.system_scope)
    problems = [f"system_scope entry {item!r} is not an app.toolkit.SystemRepository"
                for item in declared if not (isinstance(item, type) and issubclass(item, SystemRepository))]
    package = type(plugin).__module__.split(".")[0]
    if package != "app":
        undeclared = sorted(cls.__name__ for cls in _subclasses(SystemRepository)
                            if cls.__module__.split(".")[0] == package and cls not in declared)
        if undeclared:
            problems.append(f"{', '.join(undeclared)} cross tenants but are not in the plugin's system_scope")
    return problems


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def discover(enabled: Iterable[str] = ("*",), disabled: Iterable[str] = (),
             found: dict[str, Iterable[EntryPoint]] | None = None) -> PluginRegistry:
    """Read every Inkwright entry point and load the enabled ones into a new registry.

    :param enabled: entry-point or distribution names to enable; ``*`` for all.
    :param disabled: names to switch off even when ``enabled`` would allow them.
    :param found: entry points by group, instead of the installed ones (for tests).
    """
    registry = PluginRegistry()
    enabled, disabled = tuple(enabled), tuple(disabled)
    for group in GROUPS:
        candidates = found.get(group, ()) if found is not None else entry_points(group=group)
        for entry_point in sorted(candidates, key=lambda ep: ep.name):
            entry = _describe(entry_point, group)
            registry.entries.append(entry)
            entry.enabled = _is_enabled(entry, enabled, disabled)
            if not entry.enabled:
                continue
            try:
                obj = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's, reported
                registry.fail(entry, f"failed to import: {type(exc).__name__}: {exc}", traceback.format_exc())
                continue
            try:
                if group == PLUGINS:
                    _load_plugin(registry, entry, obj)
                else:
                    _load_class(registry, entry, obj, group)
            except Exception as exc:  # noqa: BLE001
                registry.fail(entry, f"failed to load: {type(exc).__name__}: {exc}", traceback.format_exc())
    return registry


def declared_kinds(registry: PluginRegistry, core: dict[str, Any], hook: str, base: type) -> dict[str, Any]:
    """The core's kinds, then each enabled plugin's from its ``hook()`` (agent subjects, export
    sources): instances of ``base`` with a ``kind``; a kind declared twice keeps the first."""
    kinds = dict(core)
    for plugin in registry.plugins.values():
        for declared in getattr(plugin, hook)():
            if isinstance(declared, base) and declared.kind and declared.kind not in kinds:
                kinds[declared.kind] = declared
    return kinds


def entry_for(registry: PluginRegistry, group: str, name: str) -> PluginEntry | None:
    return next((e for e in registry.entries if e.group == group and e.name == name), None)


def install_plugins(app: Flask, registry: PluginRegistry, api: Api, events: EventBus) -> None:
    """Add each enabled feature plugin's blueprints, templates, commands and handlers.

    A plugin whose hook raises is reported as failed and the rest of it is skipped; the
    app still starts (DESIGN.md: a broken plugin must not take the app down).

    :param api: where the plugins' JSON blueprints are registered.
    :param events: the bus their event handlers subscribe to.
    """
    for name, plugin in list(registry.plugins.items()):
        entry = next(e for e in registry.entries if e.obj is plugin)
        try:
            if plugin.templates:
                loader = app.jinja_loader
                app.jinja_loader = ChoiceLoader([loader, FileSystemLoader(str(plugin.templates))])
            for blueprint in plugin.blueprints():
                app.register_blueprint(blueprint)
            for blueprint in plugin.api_blueprints():
                api.register_blueprint(blueprint)
            for command in plugin.cli_commands():
                app.cli.add_command(command)
            for spec in plugin.event_handlers():
                event_type, handler, *background = spec
                events.subscribe(event_type, handler, background=bool(background and background[0]))
            plugin.init_app(app)
        except Exception as exc:  # noqa: BLE001 - reported, and the app goes on without it
            registry.fail(entry, f"failed to install: {type(exc).__name__}: {exc}", traceback.format_exc())
            del registry.plugins[name]
