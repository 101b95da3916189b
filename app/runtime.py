"""Per-app machinery, kept in ``app.extensions["inkwright"]`` (never in module globals).

Tests build a fresh app, and so a fresh registry, bus, cache and metrics, every time.
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import redis
from flask import Flask, current_app, g
from flask_smorest import Api
from rq import Queue
from sqlalchemy.orm import Session

from .auth.passwords import PasswordHasher
from .auth.principal import optional_principal
from .auth.service import AuthService
from .auth.throttle import AttemptThrottle
from .clock import Clock
from .config import LoadedConfig, Setting
from .engine.definitions import DefinitionCache
from .engine.finished_details import FinishedRunDetails
from .engine.progress_hub import ProgressHub
from .events import DomainEvent, EventBus
from .extensions import db
from .mail import Mailer
from .model_catalog import ModelCatalog
from .queue import RedisConnector, enqueue, make_queue
from .registry import PluginRegistry
from .repositories import Repositories, RepositoryCache, RepositoryMetrics, as_uuid
from .secrets import SecretBox
from .storage import ArtifactStorage
from .workflows.catalog import WorkflowCatalog
from .workflows.templates import TemplateEngine

log = logging.getLogger(__name__)

EXTENSION_KEY = "inkwright"


@dataclass
class InkwrightState:
    config: LoadedConfig
    settings: tuple[Setting, ...]
    registry: PluginRegistry
    events: EventBus
    metrics: RepositoryMetrics
    cache: RepositoryCache
    redis: RedisConnector
    passwords: PasswordHasher
    throttle: AttemptThrottle
    queue_name: str
    templates: TemplateEngine
    storage: ArtifactStorage
    catalog: WorkflowCatalog
    definitions: DefinitionCache
    #: The one source of "now" for what expires or waits (:mod:`app.clock`); tests pass
    #: a :class:`~app.clock.ManualClock` to ``create_app`` and advance it.
    clock: Clock
    models: ModelCatalog | None = None
    api: Api | None = None
    #: Encrypts provider keys at rest (:mod:`app.secrets`).
    secrets: SecretBox | None = None
    #: Finished runs' details, serialised once (:mod:`app.engine.finished_details`).
    finished_runs: FinishedRunDetails = field(default_factory=FinishedRunDetails, repr=False)
    _hub: ProgressHub | None = field(default=None, repr=False)
    _hub_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress_hub(self) -> ProgressHub:
        """The process's one reader of live-progress streams, started by its first watcher."""
        with self._hub_lock:
            if self._hub is None:
                url = self.redis.url
                self._hub = ProgressHub(lambda: redis.Redis.from_url(url, driver_info=None))
            return self._hub

    def queue(self) -> Queue:
        return make_queue(self.redis.client(), self.queue_name)

    def enqueue(self, function_path: str, *args: Any, **options: Any):
        """Enqueue a job by dotted path with ids only (see :func:`app.queue.enqueue`)."""
        return enqueue(self.queue(), function_path, *args, **options)

    def hand_on(self, events: list[DomainEvent]) -> None:
        """After a commit: run in-process handlers, then queue background deliveries."""
        for event in events:
            self.events.dispatch(event)
            if self.events.has_background_handlers(event.type):
                self.enqueue("app.jobs.deliver_event", event.id)


def current_state(app: Flask | None = None) -> InkwrightState:
    return (app or current_app).extensions[EXTENSION_KEY]


def repositories(tenant_id: Any = None) -> Repositories:
    """The repository factory for a tenant, defaulting to the current caller's tenant.

    Within one app context the same factory is returned for the same tenant, and every
    factory, whatever its tenant, shares the one unit of work of ``db.session``: nested
    services, even of different tenants, work in one transaction.

    :param tenant_id: scope to this tenant; ``None`` means the signed-in caller's tenant,
        or no tenant at all (global repositories only) when nobody is signed in.
    """
    if tenant_id is None:
        principal = optional_principal()
        tenant_id = principal.tenant_id if principal else None
    else:
        tenant_id = as_uuid(tenant_id)
        if tenant_id is None:
            raise ValueError("tenant_id must be a UUID")
    cache: dict[uuid.UUID | None, Repositories] = g.setdefault("inkwright_repositories", {})
    if tenant_id not in cache:
        state = current_state()
        cache[tenant_id] = Repositories(
            db.session, tenant_id=tenant_id, metrics=state.metrics, cache=state.cache,
            on_committed=state.hand_on,
        )
    return cache[tenant_id]


@contextmanager
def repositories_apart(tenant_id: Any) -> Iterator[Repositories]:
    """Repositories on a session of their own, closed when the block ends.

    For an in-process event handler, which runs after the publisher's commit in the
    publisher's job or request: a read on ``db.session`` there would open a transaction
    the publisher never asked for and, if the database dropped it meanwhile, leave the
    session unusable ("rolled back" until someone rolls it back), so that the publisher's
    next transaction failed as a bug instead of as the database being away.
    """
    key = as_uuid(tenant_id)
    if key is None:
        raise ValueError("tenant_id must be a UUID")
    state = current_state()
    with Session(db.engine) as session:
        yield Repositories(session, tenant_id=key, metrics=state.metrics, cache=state.cache,
                           on_committed=state.hand_on)


def auth_service() -> AuthService:
    """The account service for this request or job."""
    state = current_state()
    return AuthService(repositories(), state.passwords, state.throttle, current_app.config)


def mailer() -> Mailer:
    """The mailer; message bodies reach the log only outside production."""
    config = current_app.config
    return Mailer(repositories().outbox, config["MAIL_FROM"], log_bodies=config["ENV"] != "production")


def password_reset_link_base() -> str:
    # Built from EXTERNAL_URL, never from the request's Host header, which a caller forges
    # to send someone a reset link pointing at their own site.
    return current_app.config["EXTERNAL_URL"].rstrip("/") + "/reset-password"
