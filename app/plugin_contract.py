"""What a feature plugin is (re-exported by :mod:`app.toolkit`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Mapping, Sequence

from .config import Setting
from .events import DomainEvent
from .models.base import Model

if TYPE_CHECKING:  # for annotations only: the API layer sits above this contract
    import click
    from flask import Blueprint, Flask

    from .api.blueprint import EnvelopeBlueprint
    from .schedules import Schedule


EventHandlerSpec = tuple[str, Callable[[DomainEvent], None]] | tuple[str, Callable[[DomainEvent], None], bool]


@dataclass(frozen=True)
class RunSubject:
    """What a run is making, as its plugin names it: the dashboard lists the run by this
    title and the run page links back to ``url`` (a story, an article)."""

    title: str
    url: str


@dataclass(frozen=True)
class EventType:
    """A domain event type that integrations may subscribe to (outbound webhooks, issue 14).

    :param name: the dotted name the event is published under, e.g. ``story.generation.completed``.
    :param description: one line saying when it happens, shown where people pick events.
    """

    name: str
    description: str = ""


class Plugin:
    """Everything else a package adds. Override what you need; the defaults add nothing.

    :cvar name: the plugin's name; also its Alembic branch label and config prefix.
    :cvar models: model classes the plugin owns (their tables are the plugin's).
    :cvar migrations: folder of the plugin's Alembic versions (a branch of its own).
    :cvar workflows: folder of packaged workflow YAML documents.
    :cvar templates: folder of Jinja templates, searched after the core's.
    :cvar settings: configuration keys, each named ``<NAME>_...`` in upper case.
    :cvar system_scope: the plugin's repositories whose statements cross tenants on purpose
        (``app.toolkit.SystemRepository`` subclasses, each docstring saying why), as the
        core lists its own in ``app.repositories.system.SYSTEM_SCOPE``. One the plugin
        defines but leaves out refuses the plugin; ``flask inkwright plugins`` lists them for
        the operator to review, and ``flask inkwright secrets rotate`` calls ``rotate_all(box)``
        on each that has one.

    Browser pages reach people through :meth:`navigation`: its ``(label, endpoint)``
    pairs appear in the studio's main navigation, after the core's links, for signed-in
    people. A page of a run links to ``url_for("studio.run_page", run_id=...)`` for live
    progress, candidates, branching and cancelling; templates label model output with
    ``{% from "_badges.html" import offline_badge, status_badge %}``.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str | None] = None
    models: ClassVar[Sequence[type[Model]]] = ()
    migrations: ClassVar[str | Path | None] = None
    workflows: ClassVar[str | Path | None] = None
    templates: ClassVar[str | Path | None] = None
    settings: ClassVar[Sequence[Setting]] = ()
    system_scope: ClassVar[Sequence[type]] = ()

    def blueprints(self) -> Iterable["Blueprint"]:
        """Browser blueprints to register."""
        return ()

    def api_blueprints(self) -> Iterable[EnvelopeBlueprint]:
        """JSON blueprints (``app.toolkit.ApiBlueprint``), documented in the OpenAPI spec."""
        return ()

    def navigation(self) -> Iterable[tuple[str, str]]:
        """``(label, endpoint)`` pairs for the main navigation, e.g. ``("Stories", "stories.index")``.

        :returns: links shown to signed-in people after the core's own; an endpoint that
            does not exist (or needs URL arguments) is left out and logged, not an error.
        """
        return ()

    def cli_commands(self) -> Iterable["click.Command"]:
        """Click commands, added under ``flask``."""
        return ()

    def event_handlers(self) -> Iterable[EventHandlerSpec]:
        """``(event_type, handler)`` or ``(event_type, handler, background)`` triples."""
        return ()

    def schedules(self) -> Iterable["Schedule"]:
        """Recurring jobs (``app.toolkit.Schedule``: a name, a dotted job path, a cron string in
        UTC or an interval in seconds), run once across all workers by the workers started
        ``--with-cron``; listed by ``flask inkwright schedules``."""
        return ()

    def event_types(self) -> Iterable[EventType | str]:
        """The event types this plugin publishes that webhooks may subscribe to.

        :returns: :class:`EventType` values (or bare names); a name the core or another
            plugin already declared is kept once, with the first description.
        """
        return ()

    def agent_subjects(self) -> Iterable[Any]:
        """The kinds of subject review agents may run over (``app.toolkit.AgentSubjects``
        instances, e.g. DraftForge's projects): the core stores a run's kind and id, and asks
        the kind to find, authorise and read the subject."""
        return ()

    def export_sources(self) -> Iterable[Any]:
        """The kinds of thing people export as books (``app.toolkit.ExportSource`` instances,
        e.g. DraftForge's projects): each finds a subject, resolves a ref and reads its ``Book``;
        the core renders it to EPUB, PDF, DOCX, HTML or Markdown on a worker."""
        return ()

    def run_subjects(self, runs: Sequence[Any]) -> Mapping[uuid.UUID, RunSubject]:
        """For the runs among ``runs`` that make something of this plugin's, what (by run id).

        Called in a request of the runs' tenant (the repositories are scoped to it) with up to
        a page of runs: answer with one query, not one per run. Runs that are not the
        plugin's are left out. A plugin that raises here loses its titles, never the page.
        """
        return {}

    def init_app(self, app: "Flask") -> None:
        """Last chance to wire anything else; called once per app after the above."""
