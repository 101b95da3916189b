"""RQ workers that run each job inside the Flask app's context.

Both RQ worker classes are offered: ``simple`` runs jobs in the worker process (fast, and
the default), ``fork`` runs each job in a forked work horse (isolation from a job that leaks
or crashes). A forked horse must not share the parent's database connections, so it
drops the inherited pool before touching the database (CKAN issue 3365; SQLAlchemy's
"Using Connection Pools with Multiprocessing").

Besides RQ's own work loop, each worker keeps two small threads:

* a **heartbeat** stamps ``heartbeat_at`` on the steps this worker runs, so the reconciler
  can tell a slow step from a dead worker (``STEP_HEARTBEAT_INTERVAL``);
* a **reconcile timer** enqueues ``app.jobs.reconcile`` every ``RECONCILE_INTERVAL``;
  a Redis key taken with ``SET NX EX`` makes that once per interval across all workers.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from flask import Flask, g
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db
from .models import utcnow
from .repositories import statements
from .repositories.runs import RunStepLocator
from .runtime import current_state, repositories

log = logging.getLogger(__name__)

RECONCILE_LOCK = "inkwright:reconcile:timer"


class AppContextMixin:
    """Perform every job inside a fresh app context, then release its session."""

    app: Flask
    #: Whether to listen on RQ's command channel (stop a job, shut down). In-process burst
    #: workers (tests, benchmarks) turn it off: RQ waits a second for that thread at exit.
    listens_for_commands = True

    def subscribe(self) -> None:
        if self.listens_for_commands:
            super().subscribe()  # type: ignore[misc]

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        with self.app.app_context():
            g.inkwright_worker_name = self.name
            try:
                return super().perform_job(job, queue, execution)  # type: ignore[misc]
            finally:
                db.session.remove()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        stop = threading.Event()
        threads = [threading.Thread(target=self._beat, args=(stop,), name="inkwright-heartbeat", daemon=True),
                   threading.Thread(target=self._time_reconciler, args=(stop,), name="inkwright-reconcile",
                                    daemon=True)]
        for thread in threads:
            thread.start()
        try:
            return super().work(*args, **kwargs)  # type: ignore[misc]
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=5)

    def _beat(self, stop: threading.Event) -> None:
        interval = self.app.config["STEP_HEARTBEAT_INTERVAL"]
        while not stop.wait(interval):
            try:
                # Beat only for the jobs being executed right now: a fork worker outlives a horse
                # killed mid-step, and beating for that step would hide it from the reconciler.
                job_ids = [run.job_id for run in list(self.executions.values())]  # type: ignore[attr-defined]
                if not job_ids:
                    continue
                with self.app.app_context():
                    repos = repositories()
                    with repos.transaction():
                        repos.get(RunStepLocator).heartbeat(self.name, job_ids)
                    db.session.remove()
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next interval
                log.warning("heartbeat of worker %s failed", self.name, exc_info=True)

    def _time_reconciler(self, stop: threading.Event) -> None:
        interval = self.app.config["RECONCILE_INTERVAL"]
        while not stop.wait(interval):
            try:
                with self.app.app_context():
                    state = current_state()
                    if state.redis.client().set(RECONCILE_LOCK, self.name, nx=True, ex=max(1, int(interval))):
                        state.enqueue("app.jobs.reconcile", job_timeout=600, result_ttl=3600)
            except Exception:  # noqa: BLE001
                log.warning("could not schedule the reconciler", exc_info=True)


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    pass


class AppForkWorker(AppContextMixin, Worker):
    def work(self, *args: Any, **kwargs: Any) -> bool:
        warm_up_statements(self.app)
        return super().work(*args, **kwargs)

    def main_work_horse(self, job: Any, queue: Any) -> None:
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


WORKER_CLASSES: dict[str, type[Worker | SimpleWorker]] = {"simple": AppSimpleWorker, "fork": AppForkWorker}


def build_worker(app: Flask, worker_class: str | None = None, queues: list[str] | None = None,
                 name: str | None = None) -> SimpleWorker:
    """A worker bound to the app, listening on the app's queue (or the ones given)."""
    with app.app_context():
        state = current_state(app)
        kind = worker_class or app.config["WORKER_CLASS"]
        connection = state.redis.client()
        queue_names = queues or [state.queue_name]
        if db.engine.dialect.name == "postgresql" and not app.config["WORKER_SYNCHRONOUS_COMMIT"]:
            relax_commits(db.engine)
        # The parent never needs its pooled database connections again before forking.
        db.engine.dispose()
    cls = WORKER_CLASSES[kind]
    worker = cls(queue_names, connection=connection, serializer=JSONSerializer, name=name)
    worker.app = app
    return worker


def run_worker(app: Flask, worker_class: str | None = None, burst: bool = False,
               queues: list[str] | None = None, max_jobs: int | None = None) -> bool:
    """Work the queue until stopped (or, with ``burst``, until it is empty).

    The worker also runs RQ's scheduler, which enqueues retries when their backoff is over.
    """
    worker = build_worker(app, worker_class, queues)
    log.info("%s worker %s on %s", worker_class or app.config["WORKER_CLASS"], worker.name,
             ", ".join(q.name for q in worker.queues))
    return worker.work(burst=burst, max_jobs=max_jobs, logging_level=app.config["LOG_LEVEL"], with_scheduler=True)
