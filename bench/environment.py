"""What every benchmark measures against: one embedded Redis, one fresh database, one app.

A :class:`BenchEnvironment` starts a private ``redis-server`` (:class:`app.redis_server.RedisServer`)
once per process; :meth:`BenchEnvironment.database` then gives each benchmark a fresh,
migrated database with one registered writer whose tenant runs the workflows. The
database is SQLite in a temporary folder, or, when ``INKWRIGHT_BENCH_DATABASE_URL`` names a
PostgreSQL server's database, a new database created beside it and dropped afterwards (the
named one is never touched).

The same Redis serves the bare-RQ baseline and the engine, and both drain with a worker of
the same RQ class, so their figures compare like for like.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so workers import bench.noop_jobs however a script was started
    sys.path.insert(0, str(ROOT))

import redis
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.auth.principal import Principal, set_principal
from app.config import sqlalchemy_url
from app.engine.service import RunService
from app.extensions import db
from app.migrations import upgrade_all
from app.models import Role, Run, RunStep, StepAttempt
from app.queue import make_queue
from app.redis_server import RedisServer
from app.runtime import auth_service, current_state, repositories
from app.workers import build_worker

DATABASE_URL_VARIABLE = "INKWRIGHT_BENCH_DATABASE_URL"
BARE_QUEUE = "bench-bare"
#: The same job options the engine's dispatch() gives each step job.
JOB_OPTIONS = {"timeout": 3600, "result_ttl": 600, "failure_ttl": 86400}


def now() -> float:
    return time.perf_counter()


class BenchDatabase:
    """A fresh, migrated database and the app, tenant and writer that use it."""

    def __init__(self, environment: BenchEnvironment, url: str, folder: Path, kind: str,
                 config: dict[str, Any] | None = None) -> None:
        self.environment = environment
        self.url = url
        self.kind = kind
        self.folder = folder
        self.app = create_app({
            "ENV": "development",
            "SECRET_KEY": "inkwright-bench-secret-key-that-is-long-enough",
            "DATABASE_URL": url,
            "REDIS_URL": environment.redis_url,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 8,
            "ARTIFACT_DIR": str(folder / "artifacts"),
            "LOG_LEVEL": "WARNING",
            # The engine alone: an installed plugin's event handlers would add their own jobs.
            "PLUGINS": ("inkwright",),
            **(config or {}),
        }, instance_path=str(folder / "instance"))
        with self.app.app_context():
            logging.disable(logging.INFO)  # Alembic's env.py configures its own INFO logging
            try:
                upgrade_all()
            finally:
                logging.disable(logging.NOTSET)
            service = auth_service()
            user = service.register(f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench password 12345", "Bench")
            self.tenant_id = service.default_tenant(user)
            self.user_id = user.id
            db.session.remove()
            db.engine.dispose()

    @contextmanager
    def context(self) -> Iterator[tuple[Any, Any, RunService]]:
        """An app context signed in as the writer: ``(repos, state, run_service)``."""
        with self.app.app_context():
            repos = repositories(self.tenant_id)
            user = repos.users.get(self.user_id)
            principal = Principal(user, self.tenant_id, Role.OWNER, "cli")
            set_principal(principal)
            state = current_state()
            try:
                yield repos, state, RunService(repos, state, principal)
            finally:
                db.session.remove()

    def upload(self, source: str) -> str:
        """Store a workflow document for the tenant; return its name."""
        with self.context() as (repos, state, _service):
            entry, _created = state.catalog.upload(repos, source, self.user_id)
            return entry.name

    def start(self, workflow: str, inputs: dict[str, Any] | None = None) -> uuid.UUID:
        """Start a run through RunService (it plans and enqueues before returning)."""
        with self.context() as (repos, state, service):
            entry = state.catalog.resolve(repos, workflow)
            run, _new = service.start(entry, inputs or {})
            return run.id

    def process_environment(self, **settings: str) -> dict[str, str]:
        """The environment of another process (``python worker.py``, gunicorn) on this
        database, Redis, secret and artifact folder, with ``settings`` added as ``INKWRIGHT_*``."""
        config = self.app.config
        environment = {key: value for key, value in os.environ.items() if not key.startswith("INKWRIGHT_")}
        environment.update({
            "INKWRIGHT_DATABASE_URL": self.url, "INKWRIGHT_REDIS_URL": self.environment.redis_url,
            "INKWRIGHT_SECRET_KEY": config["SECRET_KEY"], "INKWRIGHT_ARTIFACT_DIR": config["ARTIFACT_DIR"],
            "INKWRIGHT_PLUGINS": "inkwright", "INKWRIGHT_LOG_LEVEL": "WARNING",
            "INKWRIGHT_INSTANCE_PATH": str(self.folder / "process-instance"),
            **{f"INKWRIGHT_{name}": value for name, value in settings.items()},
        })
        return environment

    def drain(self, worker_class: str = "simple", concurrency: int | None = None) -> int:
        """Work the app's queue with an app worker in burst mode; return how many jobs ran."""
        worker = build_worker(self.app, worker_class, concurrency=concurrency)
        worker.work(burst=True, logging_level="WARNING")
        worker.refresh()
        return worker.successful_job_count + worker.failed_job_count

    def summary(self, run_id: uuid.UUID) -> dict[str, Any]:
        """The run's status and counters, and how many attempt rows (real executions) it has."""
        with self.app.app_context():
            run = db.session.get(Run, run_id)
            attempts = db.session.scalar(select(func.count()).select_from(StepAttempt).join(
                RunStep, StepAttempt.run_step_id == RunStep.id).where(RunStep.run_id == run_id))
            result = {"status": run.status.value, "steps_total": run.steps_total, "steps_done": run.steps_done,
                      "cache_hits": run.cache_hits, "attempts": attempts}
            db.session.remove()
            return result

    def require_completed(self, run_id: uuid.UUID, label: str) -> dict[str, Any]:
        """:raises RuntimeError: unless the run completed, so no figure comes from a broken run."""
        found = self.summary(run_id)
        if found["status"] != "completed" or found["steps_done"] != found["steps_total"]:
            raise RuntimeError(f"{label}: run {run_id} ended {found}, not completed")
        return found

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        self.environment.redis_client().flushdb()


class BenchEnvironment:
    """One embedded redis-server for the whole process, and fresh databases on demand."""

    def __init__(self) -> None:
        self.server = RedisServer().start()
        self.redis_url = self.server.url
        self._client: redis.Redis | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="inkwright-bench-"))
        self.database_server = os.environ.get(DATABASE_URL_VARIABLE, "")

    def redis_client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self.redis_url)
        return self._client

    @property
    def kinds(self) -> list[str]:
        """The databases to measure on: SQLite always, PostgreSQL when one is configured."""
        return ["sqlite", "postgresql"] if self.database_server else ["sqlite"]

    @contextmanager
    def database(self, kind: str = "sqlite", **config: Any) -> Iterator[BenchDatabase]:
        """A fresh database of ``kind`` with its app (``config`` added to the bench's own);
        Redis is flushed before and after."""
        folder = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.folder))
        self.redis_client().flushdb()
        if kind == "sqlite":
            url, cleanup = f"sqlite:///{folder / 'bench.db'}", None
        else:
            url, cleanup = self._create_postgres_database()
        bench_db = BenchDatabase(self, url, folder, kind, config)
        try:
            yield bench_db
        finally:
            bench_db.close()
            if cleanup:
                cleanup()
            shutil.rmtree(folder, ignore_errors=True)

    def _create_postgres_database(self):
        base = make_url(sqlalchemy_url(self.database_server))
        name = f"{base.database}_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return base.set(database=name).render_as_string(hide_password=False), drop

    # The bare-RQ baseline ----------------------------------------------------------------
    def bare_enqueue(self, count: int) -> None:
        """Put ``count`` no-op jobs on the baseline queue by dotted path, as dispatch() does."""
        from bench.noop_jobs import JOB_FUNCTION

        queue = make_queue(self.redis_client(), BARE_QUEUE)
        queue.enqueue_many([queue.prepare_data(JOB_FUNCTION, args=(index,), **JOB_OPTIONS)
                            for index in range(count)])

    def bare_drain(self, worker_class: str = "simple") -> int:
        """Drain the baseline queue with a plain RQ worker of the same class as the app's."""
        cls = SimpleWorker if worker_class == "simple" else Worker
        worker = cls([BARE_QUEUE], connection=self.redis_client(), serializer=JSONSerializer)
        worker.work(burst=True, logging_level="WARNING")
        worker.refresh()
        return worker.successful_job_count + worker.failed_job_count

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def environment_description(environment: BenchEnvironment) -> dict[str, Any]:
    """Where the figures come from, printed and stored with them."""
    import platform

    import rq
    import sqlalchemy

    server_version = environment.redis_client().info("server").get("redis_version")
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "rq": rq.__version__, "redis_server": server_version, "sqlalchemy": sqlalchemy.__version__,
            "databases": environment.kinds,
            # Other work on the machine slows both sides of a ratio, but not always alike.
            "load_average_1m": round(os.getloadavg()[0], 2)}
