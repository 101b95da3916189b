"""The ``threads`` worker: up to N jobs in flight in one process, each in a thread of its own.

A step spends nearly all its time waiting for a model, so a worker that runs one job at a
time needs one process (a whole interpreter and app) per step in flight. This worker keeps
RQ's loop — dequeue, register the execution, perform, record the result — and hands each
job's *performing* to a pool of ``concurrency`` threads, taking a job off the queue only
when a thread is free. Every job runs in its own app context and so its own database
session; the threads share the process's connection pool, which ``create_app`` sizes for
them (``DATABASE_POOL_SIZE``), and the worker refuses to start on a pool too small.

RQ has no thread worker of its own (rq/rq#1804), but RQ 3 already keeps a worker's
executions as a set, so several may be active at once; and the engine never takes RQ's
registries for the truth — the database and the step heartbeats are. What a thread worker
cannot do, and what covers it:

* **Job timeouts.** RQ's timeout kills a forked horse (or signals the main thread); a thread
  cannot be killed safely mid-transaction. The reconciler times out a step past its
  ``timeout`` (it marks it failed or retries it), and the late thread's own ending is then
  refused because the step is no longer at its execution.
* **The stop-job command** (``rq`` ``send_stop_job_command``) kills a horse; here it is
  refused with the reason in the log. Cancelling the run stops its steps cooperatively:
  a skill's context sees the run has ended at its next model call or check.
* **A crash of one job** (a segfaulting C extension) takes the whole process with its other
  jobs; the heartbeats stop, and the reconciler requeues every one of them within its
  attempt budget. Use ``fork`` for skills that need that isolation.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus

from .errors import ConfigError
from .extensions import db
from .job_context import AppContextMixin

log = logging.getLogger(__name__)

#: Connections the worker's own threads hold besides its jobs': the heartbeat and the
#: reconcile timer.
OWN_CONNECTIONS = 2


class NoDeathPenalty:
    """RQ's job-timeout hook, which a thread cannot honour (see the module's docstring)."""

    def __init__(self, timeout: Any, exception: Any = None, **kwargs: Any) -> None:
        self.timeout = timeout

    def __enter__(self) -> "NoDeathPenalty":
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        return False  # let the job's own exception through

    def setup_death_penalty(self) -> None:
        """Nothing to arm: the reconciler times steps out."""

    def cancel_death_penalty(self) -> None:
        """Nothing to disarm."""


def connections_needed(concurrency: int) -> int:
    """Database connections a thread worker of this concurrency may hold at once."""
    return concurrency + OWN_CONNECTIONS


def check_concurrency(concurrency: Any, pool_capacity: int | None) -> int:
    """The concurrency asked for, or a :class:`ConfigError` saying why it cannot be.

    :param pool_capacity: how many connections the database pool can hand out at once
        (``None``: unbounded).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError([f"WORKER_CONCURRENCY: a threads worker runs 1 or more jobs at once, not {concurrency!r}."])
    needed = connections_needed(concurrency)
    if pool_capacity is not None and needed > pool_capacity:
        raise ConfigError([
            f"WORKER_CONCURRENCY: {concurrency} jobs at once need {needed} database connections "
            f"({concurrency} jobs, the heartbeat and the reconcile timer), but the pool holds "
            f"{pool_capacity}. Leave DATABASE_POOL_SIZE at 0 to size it for the worker, or raise it "
            f"to {needed}."])
    return concurrency


def pool_capacity(engine: Any) -> int | None:
    """How many connections the engine's pool can hand out at once (``None``: no limit)."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", None)  # QueuePool keeps it private; -1 is unlimited
    if not callable(size) or overflow is None or overflow < 0:
        return None
    return size() + overflow


class AppThreadWorker(AppContextMixin, SimpleWorker):
    """Up to :attr:`concurrency` jobs at once, each performed in a thread of a pool."""

    death_penalty_class = NoDeathPenalty  # type: ignore[assignment]
    concurrency = 1

    def work(self, *args: Any, **kwargs: Any) -> bool:
        with self.app.app_context():
            check_concurrency(self.concurrency, pool_capacity(db.engine))
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._changed = threading.Condition()
        self._in_flight = 0
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"inkwright-job-{self.name[:8]}")
        try:
            return super().work(*args, **kwargs)
        finally:
            self._pool.shutdown(wait=True)

    @property
    def in_flight(self) -> int:
        """How many jobs this worker is performing right now."""
        return self._in_flight

    def dequeue_job_and_maintain_ttl(self, timeout: Any, max_idle_time: Any = None) -> Any:
        """Take the next job only when a thread is free to perform it.

        In burst mode the queue may look empty while jobs in flight are about to enqueue
        their dependents, so an empty queue ends the burst only once nothing is in flight.
        """
        while not self._slots.acquire(timeout=1):
            self.heartbeat()  # waiting for a free thread is being busy, not being dead
        while True:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            if result is not None or timeout is not None or not self._wait_for_one_to_end():
                if result is None:
                    self._slots.release()
                return result

    def _wait_for_one_to_end(self) -> bool:
        """Block until a job in flight ends; ``False`` at once when none is in flight."""
        with self._changed:
            if self._in_flight == 0:
                return False
            ending = self._in_flight
            self._changed.wait_for(lambda: self._in_flight < ending)
            return True

    def execute_job(self, job: Any, queue: Any) -> None:
        try:
            execution = self.prepare_execution(job)
            with self._changed:
                self._in_flight += 1
        except BaseException:
            self._slots.release()  # the thread taken for this job is free again
            raise
        self._pool.submit(self._perform, job, queue, execution)

    def _perform(self, job: Any, queue: Any, execution: Any) -> None:
        try:
            self.perform_job(job, queue, execution)
        except BaseException:  # noqa: BLE001 - perform_job records failures; this is a last resort
            log.exception("threads worker %s: job %s escaped RQ's own handling", self.name, job.id)
        finally:
            with self._changed:
                self._in_flight -= 1
                idle = self._in_flight == 0
                self._changed.notify_all()
            self._slots.release()
            if idle:
                self.set_state(WorkerStatus.IDLE)

    def teardown(self) -> None:
        # RQ's loop has ended (burst over, or a warm shutdown): let the jobs in flight finish
        # before the worker registers its death and its heartbeat stops.
        with self._changed:
            self._changed.wait_for(lambda: self._in_flight == 0)
        super().teardown()

    def _shutdown(self) -> None:
        # A warm shutdown (SIGTERM, Ctrl-C). RQ's own waits in its loop for the job the main
        # thread performs; here the main thread only ever takes jobs off the queue, so it
        # stops taking them at once, and teardown waits for the ones in flight.
        self._stop_requested = True
        self.set_shutdown_requested_date()
        log.info("threads worker %s: stopping; waiting for %d job(s) in flight (again for a cold stop)",
                 self.name, self._in_flight)
        if self.scheduler:
            self.stop_scheduler()
        raise StopRequested()

    def request_force_stop(self, signum: int, frame: Any) -> None:
        # A cold shutdown: the jobs in flight are abandoned mid-step. Their heartbeats stop
        # with the process, and the reconciler requeues them within their attempt budgets.
        log.warning("threads worker %s: cold shutdown with %d job(s) in flight; the reconciler will "
                    "requeue them", self.name, self._in_flight)
        try:
            self.register_death()
        finally:
            os._exit(1)

    def request_stop_execution(self, execution_id: str) -> None:
        log.warning("threads worker %s: refusing to stop execution %s: a thread cannot be killed safely. "
                    "Cancel its run instead (the step stops at its next check), or run skills that must "
                    "be killable on a fork worker.", self.name, execution_id)

    def kill_horse(self, sig: Any = None) -> None:
        """No horse to kill: jobs are threads of this process."""
