"""A worker's own processes die with it: RQ's scheduler process and a fork worker's horse.

RQ forks both and never tells them when the worker is gone: a SIGKILLed worker left its
scheduler running with parent pid 1 until something killed it, and a horse — in a process
group of its own — went on with its step while the reconciler, hearing no heartbeat (the
parent sends them), queued the step again: two executions of one step. Each child now
asks Linux to signal it when its parent dies (``PR_SET_PDEATHSIG``, as the embedded Redis
does): the scheduler gets SIGTERM and stops as RQ stops it; a horse gets SIGKILL, since its
attempt is already the reconciler's to retry.
"""

from __future__ import annotations

import os
import signal
from multiprocessing.context import ForkProcess
from typing import Any

from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from rq.scheduler import run as run_scheduler

from .processes import bind_to_parent


def _run_bound(scheduler: RQScheduler, parent_pid: int) -> None:
    bind_to_parent(parent_pid, signal.SIGTERM)
    run_scheduler(scheduler)


class BoundScheduler(RQScheduler):
    """RQ's scheduler, whose process ends when the worker that started it does."""

    def start(self) -> ForkProcess:
        # As RQScheduler.start, with the child bound to this process first.
        self._status = self.Status.STARTED
        self._connection = None  # a Redis connection does not cross a fork
        self._process = ForkProcess(target=_run_bound, args=(self, os.getpid()), name="Scheduler")
        self._process.start()
        return self._process


class BoundChildren:
    """Mixed into every app worker (through ``AppContextMixin``): its scheduler is bound to it."""

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        # RQ's own, but with BoundScheduler (RQ names its class inside, with no hook).
        worker: Any = self
        self.scheduler = BoundScheduler(worker.queues, connection=worker.connection,
                                        logging_level=logging_level if logging_level is not None else worker.log.level,
                                        date_format=date_format, log_format=log_format, serializer=worker.serializer)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()


def bind_horse() -> None:
    """First thing in a work horse: SIGKILL when the worker dies (its parent is the worker)."""
    bind_to_parent(os.getppid(), signal.SIGKILL)
