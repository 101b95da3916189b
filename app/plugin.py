"""What a feature plugin is (re-exported by :mod:`app.toolkit`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable, Sequence

from .api.blueprint import EnvelopeBlueprint
from .config import Setting
from .events import DomainEvent
from .models.base import Model

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask


EventHandlerSpec = tuple[str, Callable[[DomainEvent], None]] | tuple[str, Callable[[DomainEvent], None], bool]


class Plugin:
    """Everything else a package adds. Override what you need; the defaults add nothing.

    :cvar name: the plugin's name; also its Alembic branch label and config prefix.
    :cvar models: model classes the plugin owns (their tables are the plugin's).
    :cvar migrations: folder of the plugin's Alembic versions (a branch of its own).
    :cvar workflows: folder of packaged workflow YAML documents.
    :cvar templates: folder of Jinja templates, searched after the core's.
    :cvar settings: configuration keys, each named ``<NAME>_...`` in upper case.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str | None] = None
    models: ClassVar[Sequence[type[Model]]] = ()
    migrations: ClassVar[str | Path | None] = None
    workflows: ClassVar[str | Path | None] = None
    templates: ClassVar[str | Path | None] = None
    settings: ClassVar[Sequence[Setting]] = ()

    def blueprints(self) -> Iterable["Blueprint"]:
        """Browser blueprints to register."""
        return ()

    def api_blueprints(self) -> Iterable[EnvelopeBlueprint]:
        """JSON blueprints (``app.toolkit.ApiBlueprint``), documented in the OpenAPI spec."""
        return ()

    def cli_commands(self) -> Iterable["click.Command"]:
        """Click commands, added under ``flask``."""
        return ()

    def event_handlers(self) -> Iterable[EventHandlerSpec]:
        """``(event_type, handler)`` or ``(event_type, handler, background)`` triples."""
        return ()

    def init_app(self, app: "Flask") -> None:
        """Last chance to wire anything else; called once per app after the above."""
