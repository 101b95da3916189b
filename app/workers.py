"""RQ workers that run each job inside the Flask app's context.

Both RQ worker classes are offered: ``simple`` runs jobs in the worker process (fast, and
the default), ``fork`` runs each job in a forked work horse (isolation from a job that leaks
or crashes). A forked horse must not share the parent's database connections, so it
drops the inherited pool before touching the database (CKAN issue 3365; SQLAlchemy's
"Using Connection Pools with Multiprocessing").

``threads`` (``thread_worker.py``) runs up to ``WORKER_CONCURRENCY`` jobs at once in one
process: a step spends most of its time waiting for a model, so one process can keep many
in flight.

Every class performs jobs inside the app and keeps a heartbeat and a reconcile timer
(``job_context.py``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .agent_runs.queues import worker_queues
from .errors import ConfigError
from .extensions import db
from .job_context import AppContextMixin
from .models import utcnow
from .redis_outage import work_through_outages
from .repositories import statements
from .runtime import current_state
from .thread_worker import AppThreadWorker
from .worker_children import bind_horse

log = logging.getLogger(__name__)


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    pass


class AppForkWorker(AppContextMixin, Worker):
    def work(self, *args: Any, **kwargs: Any) -> bool:
        warm_up_statements(self.app)
        return super().work(*args, **kwargs)

    def main_work_horse(self, job: Any, queue: Any) -> None:
        bind_horse()  # a horse never outlives its worker (worker_children.py)
        with self.app.app_context():
            # The horse inherited the parent's pooled connections; close=False leaves the
            # parent's sockets alone while this process opens its own.
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def relax_commits(engine: Engine) -> None:
    """Let this process's PostgreSQL commits return before their WAL reaches the disk.

    A worker commits twice per step; waiting for the disk each time is most of a no-op
    step's cost. PostgreSQL's asynchronous commit never corrupts: a crash can only undo the
    last fraction of a second of commits, and the engine's own recovery covers exactly
    that (a step whose completion was undone is found by the reconciler and run again,
    within its attempt budget). Requests of the web app keep synchronous commits.
    """
    if not event.contains(engine, "connect", _asynchronous_commit):
        event.listen(engine, "connect", _asynchronous_commit)


def _asynchronous_commit(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO OFF")
    cursor.close()
    dbapi_connection.commit()


def warm_up_statements(app: Flask) -> None:
    """Compile the engine's hot statements once in the worker, before any fork.

    SQLAlchemy keeps compiled statements per process; a forked horse starts from what its
    parent had, and the parent of a fork worker never runs a step. Executing them here,
    with parameters that match no row, in a transaction that is rolled back, gives every
    horse them ready.
    """
    nobody = uuid.uuid4()
    with app.app_context():
        with db.engine.connect() as connection:
            transaction = connection.begin()
            try:
                returning = connection.dialect.update_returning
                now = utcnow()
                connection.execute(statements.claim_step(returning),
                                   {"b_step_id": nobody, "b_job_id": "", "b_worker": "", "b_now": now})
                connection.execute(statements.lock_run(returning),
                                   {"b_run_id": nobody, "b_tenant_id": nobody, "b_now": now})
                connection.execute(statements.read_step(), {"b_step_id": nobody})
            finally:
                transaction.rollback()


WORKER_CLASSES: dict[str, type[Worker | SimpleWorker]] = {"simple": AppSimpleWorker, "fork": AppForkWorker,
                                                          "threads": AppThreadWorker}


def build_worker(app: Flask, worker_class: str | None = None, queues: list[str] | None = None,
                 name: str | None = None, concurrency: int | None = None) -> SimpleWorker:
    """A worker bound to the app, listening on the app's queue (or the ones given).

    :param concurrency: jobs at once for a ``threads`` worker (``WORKER_CONCURRENCY`` by default).
    :raises ConfigError: for an unknown class, or a concurrency for a class that has none
        (a threads worker checks its concurrency against the database pool when it starts).
    """
    kind = worker_class or app.config["WORKER_CLASS"]
    if kind not in WORKER_CLASSES:
        raise ConfigError([f"WORKER_CLASS: {kind!r} is not one of {', '.join(sorted(WORKER_CLASSES))}."])
    if kind != "threads" and concurrency not in (None, 1):
        raise ConfigError([f"WORKER_CONCURRENCY: a {kind} worker runs one job at a time; "
                           f"use the threads worker for {concurrency} at once."])
    with app.app_context():
        state = current_state(app)
        connection = state.redis.client()
        # The app's queue between the agent runs' urgent and low ones (app/agent_runs/queues.py).
        queue_names = queues or worker_queues(state.queue_name)
        if db.engine.dialect.name == "postgresql" and not app.config["WORKER_SYNCHRONOUS_COMMIT"]:
            relax_commits(db.engine)
        # The parent never needs its pooled database connections again before forking.
        db.engine.dispose()
    cls = WORKER_CLASSES[kind]
    worker = cls(queue_names, connection=connection, serializer=JSONSerializer, name=name)
    worker.app = app
    if kind == "threads":
        worker.concurrency = app.config["WORKER_CONCURRENCY"] if concurrency is None else concurrency
    return worker


def sized_for(app: Flask, concurrency: int | None) -> Flask:
    """The app to run a worker of ``concurrency`` jobs at once on: this one, or — when its
    database pool was sized for another concurrency (``DATABASE_POOL_SIZE`` 0) — one built
    alike with ``WORKER_CONCURRENCY`` set, so ``--concurrency 64`` needs no other setting."""
    if concurrency is None or concurrency == app.config["WORKER_CONCURRENCY"] or app.config["DATABASE_POOL_SIZE"]:
        return app
    from . import create_app  # here, not at the top: create_app's module imports the CLI, which imports this

    return create_app({"WORKER_CONCURRENCY": concurrency}, instance_path=app.instance_path)


def run_worker(app: Flask, worker_class: str | None = None, burst: bool = False,
               queues: list[str] | None = None, max_jobs: int | None = None, concurrency: int | None = None,
               with_cron: bool = False) -> bool:
    """Work the queue until stopped (or, with ``burst``, until it is empty).

    The worker also runs RQ's scheduler, which enqueues retries when their backoff is over,
    and with ``with_cron`` the schedules (``app/cron.py``: one such worker leads at a time).
    It outlives Redis: absent at start or lost while working, Redis is waited for (with a
    backoff, each attempt logged) and the worker starts again in this process.
    """
    def start() -> bool:
        worker = build_worker(app, worker_class, queues, concurrency=concurrency)
        worker.with_cron = with_cron
        at_once = f" ({worker.concurrency} jobs at once)" if isinstance(worker, AppThreadWorker) else ""
        log.info("%s worker %s%s on %s", worker_class or app.config["WORKER_CLASS"], worker.name, at_once,
                 ", ".join(q.name for q in worker.queues))
        return worker.work(burst=burst, max_jobs=max_jobs, logging_level=app.config["LOG_LEVEL"], with_scheduler=True)

    # Redis absent at start, or gone for a while: wait for it and work again (redis_outage.py).
    with app.app_context():
        client = current_state().redis.client()
    return work_through_outages(start, client)
