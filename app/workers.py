"""RQ workers that run each job inside the Flask app's context.

Both RQ worker classes are offered: ``simple`` runs jobs in the worker process (fast, and
the default), ``fork`` runs each job in a forked work horse (isolation from a job that leaks
or crashes). A forked horse must not share the parent's database connections, so it
drops the inherited pool before touching the database (CKAN issue 3365; SQLAlchemy's
"Using Connection Pools with Multiprocessing").
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from .extensions import db
from .state import current_state

log = logging.getLogger(__name__)


class AppContextMixin:
    """Perform every job inside a fresh app context, then release its session."""

    app: Flask

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, execution)  # type: ignore[misc]
            finally:
                db.session.remove()


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    pass


class AppForkWorker(AppContextMixin, Worker):
    def main_work_horse(self, job: Any, queue: Any) -> None:
        with self.app.app_context():
            # The horse inherited the parent's pooled connections; close=False leaves the
            # parent's sockets alone while this process opens its own.
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)


WORKER_CLASSES: dict[str, type[Worker | SimpleWorker]] = {"simple": AppSimpleWorker, "fork": AppForkWorker}


def build_worker(app: Flask, worker_class: str | None = None, queues: list[str] | None = None,
                 name: str | None = None) -> SimpleWorker:
    """A worker bound to the app, listening on the app's queue (or the ones given)."""
    with app.app_context():
        state = current_state(app)
        kind = worker_class or app.config["WORKER_CLASS"]
        connection = state.redis.client()
        queue_names = queues or [state.queue_name]
        # The parent never needs its pooled database connections again before forking.
        db.engine.dispose()
    cls = WORKER_CLASSES[kind]
    worker = cls(queue_names, connection=connection, serializer=JSONSerializer, name=name)
    worker.app = app
    return worker


def run_worker(app: Flask, worker_class: str | None = None, burst: bool = False,
               queues: list[str] | None = None, max_jobs: int | None = None) -> bool:
    """Work the queue until stopped (or, with ``burst``, until it is empty)."""
    worker = build_worker(app, worker_class, queues)
    log.info("%s worker %s on %s", worker_class or app.config["WORKER_CLASS"], worker.name,
             ", ".join(q.name for q in worker.queues))
    return worker.work(burst=burst, max_jobs=max_jobs, logging_level=app.config["LOG_LEVEL"])
