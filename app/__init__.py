"""Inkwright: a plugin-based studio for AI writing workflows.

``create_app`` only wires — configuration, extensions, plugins, blueprints — in that
order; nothing heavy happens at import time (flaskr's habit).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from . import envelope, security_headers
from .api import build_api
from .auth.passwords import PasswordHasher
from .auth.throttle import AttemptThrottle
from .cli import register_cli
from .clock import Clock, SystemClock
from .config import SETTINGS, load_config, sqlalchemy_url, validate
from .connection_checks import check_connections_when_idle
from .engine.definitions import DefinitionCache
from .events import EventBus
from .extensions import begin_before_savepoint, csrf, db, login_manager, migrate
from .migrations import MIGRATIONS_DIRECTORY
from .model_catalog import ModelCatalog
from .notifications import CREATED as NOTIFICATION_CREATED
from .notifications import NotificationStream
from .queue import RedisConnector
from .registry import discover, install_plugins
from .repositories import RepositoryCache, RepositoryMetrics
from .runtime import EXTENSION_KEY, InkwrightState
from .secrets import SecretBox
from .storage import LocalArtifactStorage
from .thread_worker import connections_needed
from .version import __version__
from .web import register_web
from .webhooks import install_webhooks
from .workflows.catalog import WorkflowCatalog
from .workflows.templates import TemplateEngine

__all__ = ["__version__", "create_app"]


def _flask_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flask and extension keys derived from Inkwright's own settings."""
    url = sqlalchemy_url(values["DATABASE_URL"])
    engine_options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Web threads and a worker share one file: wait for a lock rather than fail at once.
        engine_options["connect_args"] = {"timeout": 30}
    if not _in_memory(url):
        engine_options.update(_pool_options(values))
    secure = values["SECURE_COOKIES"]
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "TESTING": values["ENV"] == "testing",
        "SESSION_COOKIE_NAME": "inkwright_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "WTF_CSRF_TIME_LIMIT": None,
        # CSRF is checked by app.web.protect_forms, which knows what to exempt.
        "WTF_CSRF_CHECK_DEFAULT": False,
    }


def _in_memory(url: str) -> bool:
    # An in-memory SQLite database lives in one connection; its pool is not sized.
    return url in ("sqlite://", "sqlite:///", "sqlite:///:memory:") or "mode=memory" in url


def _pool_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """The connection pool's size: the threads of a thread worker each hold a connection, so
    by default the pool grows with WORKER_CONCURRENCY; a size set by hand is a hard cap, which
    a thread worker checks when it starts (``thread_worker.check_concurrency``)."""
    size = values["DATABASE_POOL_SIZE"]
    if size:
        return {"pool_size": size, "max_overflow": 0}
    return {"pool_size": max(5, connections_needed(values["WORKER_CONCURRENCY"])), "max_overflow": 10}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite leaves foreign keys off unless asked per connection; WAL lets the web read
    # while a worker writes; in WAL mode synchronous=NORMAL is SQLite's own advice: no
    # corruption on a crash, and a commit no longer waits for the disk (a power cut may
    # lose the last commits, which the reconciler then redoes).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _configure_logging(app: Flask) -> None:
    level = getattr(logging, app.config["LOG_LEVEL"])
    logging.getLogger("app").setLevel(level)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def create_app(config: Mapping[str, Any] | None = None, *, instance_path: str | None = None,
               clock: Clock | None = None) -> Flask:
    """Build an Inkwright app.

    :param config: values that win over the instance file and the environment.
    :param instance_path: the instance folder (secret key, SQLite file, inkwright.toml);
        ``INKWRIGHT_INSTANCE_PATH`` or Flask's ``instance/`` beside the package by default.
    :param clock: what the app's expiries and waits read the time from; the system's by
        default (tests pass a :class:`~app.clock.ManualClock`).
    :raises ConfigError: listing every invalid setting, core and plugin alike.
    """
    app = Flask(__name__, instance_path=instance_path or os.environ.get("INKWRIGHT_INSTANCE_PATH") or None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # 1. Configuration: the core's keys decide which plugins load; then all keys together.
    core = load_config(app.instance_path, config)
    registry = discover(core.values["PLUGINS"], core.values["DISABLED_PLUGINS"])
    settings = (*SETTINGS, *registry.settings())
    loaded = load_config(app.instance_path, config, settings=settings)
    validate(loaded)
    app.config.update(loaded.values)
    app.config.update(_flask_settings(loaded.values))
    _configure_logging(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind N proxies the client is the Nth address from the right of X-Forwarded-For;
        # anything further left was written by the client and is not believed.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    # 2. Extensions and per-app machinery.
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "savepoint", begin_before_savepoint)
        else:
            # A server may drop idle connections; check one that sat idle before use (a file never does).
            check_connections_when_idle(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIRECTORY))
    login_manager.init_app(app)
    csrf.init_app(app)
    redis_url = app.config["REDIS_URL"]
    templates = TemplateEngine()
    clock = clock or SystemClock()
    state = InkwrightState(
        config=loaded, settings=settings, registry=registry, events=EventBus(),
        metrics=RepositoryMetrics(), cache=RepositoryCache(app.config["REPOSITORY_CACHE_TTL"], clock=clock),
        redis=RedisConnector(redis_url, app.config["REDIS_SERVER_BINARY"]),
        passwords=PasswordHasher(app.config["PASSWORD_HASH_TIME_COST"], app.config["PASSWORD_HASH_MEMORY_KIB"]),
        throttle=AttemptThrottle(app.config["LOGIN_RATE_LIMIT"], redis_url),
        queue_name=app.config["QUEUE_NAME"], templates=templates,
        storage=LocalArtifactStorage(app.config["ARTIFACT_DIR"]), catalog=WorkflowCatalog(registry, templates),
        definitions=DefinitionCache(), clock=clock,
        models=ModelCatalog.load(registry.providers, app.config["MODEL_CATALOG"]),
    )
    state.secrets = SecretBox.from_config(app.config)
    app.extensions[EXTENSION_KEY] = state
    # A committed notification goes on to its person's live stream (app/notifications.py).
    state.events.subscribe(NOTIFICATION_CREATED, lambda event: NotificationStream(state.redis.client()).announce(event))

    # 3. Blueprints: errors, envelope and security headers first, then the API, the browser, the CLI.
    envelope.install(app)
    security_headers.install(app)
    state.api = build_api(app)
    register_web(app)
    register_cli(app)

    # 4. Plugins add their blueprints, templates, commands and handlers last; then their
    #    packaged workflows are read, now that every skill is known.
    install_plugins(app, registry, state.api, state.events)
    install_webhooks(app)  # after the plugins: they declare event types too
    state.catalog.load_packaged()
    return app
