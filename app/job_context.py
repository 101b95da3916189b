"""What every Inkwright worker does around RQ's own loop, whatever its class.

* Each job runs inside a fresh app context, and its database session is released after.
* A **heartbeat** thread stamps ``heartbeat_at`` on the steps this worker runs right now —
  every one of them, however many are in flight — so the reconciler can tell a slow step
  from a dead worker (``STEP_HEARTBEAT_INTERVAL``). A second thread beats the same jobs in
  Redis, so a database outage, or a database call that hangs, does not pass for a dead
  worker (``engine/job_beats.py``).
* A **reconcile timer** enqueues ``app.jobs.reconcile`` every ``RECONCILE_INTERVAL``; a Redis
  key taken with ``SET NX EX`` makes that once per interval across all workers.
* With ``--with-cron``, a **cron thread** runs the schedules (``app/cron.py``): one worker
  leads at a time, the others stand by.
* Its **children** — RQ's scheduler process, a fork worker's horse — die with it
  (``worker_children.py``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import redis
from flask import Flask, g

from .cron import ScheduleRunner
from .engine import job_beats
from .errors import DatabaseUnavailableError
from .extensions import db
from .repositories.runs import RunStepLocator
from .runtime import current_state, repositories
from .schedules import all_schedules
from .worker_children import BoundChildren

log = logging.getLogger(__name__)

RECONCILE_LOCK = "inkwright:reconcile:timer"


class AppContextMixin(BoundChildren):
    """Perform every job inside a fresh app context, then release its session."""

    app: Flask
    #: Whether to listen on RQ's command channel (stop a job, shut down). In-process burst
    #: workers (tests, benchmarks) turn it off: RQ waits a second for that thread at exit.
    listens_for_commands = True
    #: Whether this worker also runs the schedules (``--with-cron``; one leads at a time).
    with_cron = False

    def subscribe(self) -> None:
        if self.listens_for_commands:
            super().subscribe()  # type: ignore[misc]

    def unsubscribe(self) -> None:
        """RQ's, without its chance of a minute's wait at exit.

        RQ sends UNSUBSCRIBE and only then stops the pub/sub thread, joining it with no
        timeout. If the thread reads the reply in between, it finds itself unsubscribed and
        waits up to 60 s (RQ's ``sleep_time``) to be subscribed again, and the worker's exit
        waits with it. Here the thread's running flag is cleared first, so that reply ends
        its loop, and the join is bounded (the thread is a daemon: it cannot hold the exit).
        """
        thread = getattr(self, "pubsub_thread", None)
        if thread is None:
            return
        thread.stop(timeout=0)
        try:
            self.pubsub.unsubscribe()  # type: ignore[attr-defined]
        except redis.RedisError:
            pass  # Redis is gone: there is nothing to unsubscribe from
        thread.join(timeout=2)
        self.pubsub.close()  # type: ignore[attr-defined]

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        with self.app.app_context():
            g.inkwright_worker_name = self.name
            try:
                return super().perform_job(job, queue, execution)  # type: ignore[misc]
            finally:
                db.session.remove()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self._stop_on_early_sigterm()
        stop = threading.Event()
        threads = [threading.Thread(target=self._beat, args=(stop,), name="inkwright-heartbeat", daemon=True),
                   threading.Thread(target=self._beat_in_redis, args=(stop,), name="inkwright-redis-heartbeat",
                                    daemon=True),
                   threading.Thread(target=self._time_reconciler, args=(stop,), name="inkwright-reconcile",
                                    daemon=True)]
        if self.with_cron:
            threads.append(threading.Thread(target=self._run_schedules, args=(stop,), name="inkwright-cron",
                                            daemon=True))
        for thread in threads:
            thread.start()
        try:
            return super().work(*args, **kwargs)  # type: ignore[misc]
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=5)
            self._resign_schedules()
            self._stop_rq_scheduler()

    def _stop_rq_scheduler(self) -> None:
        """RQ stops its scheduler process on its own way out; stopped earlier (a SIGTERM before
        RQ's handlers), the process would be left running, and the interpreter's exit, which
        joins every child it forked, would wait for it for ever."""
        scheduler = getattr(self, "scheduler", None)
        process = getattr(scheduler, "_process", None)
        if process is None or not process.is_alive():
            return
        # Not RQ's stop_scheduler(): it joins without a limit, and a scheduler forked the moment
        # the SIGTERM came may not have its own handlers yet (see _stop_on_early_sigterm).
        process.terminate()
        process.join(timeout=5)
        if process.is_alive():
            log.warning("RQ's scheduler (pid %s) ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.join(timeout=5)

    def _stop_on_early_sigterm(self) -> None:
        """Until RQ installs its own handlers (after registering, subscribing and starting its
        scheduler: seconds on a loaded machine), SIGTERM's default would kill the process on
        the spot, its threads with it: a cron thread already leading would never give its
        lease back. A SIGTERM in that gap asks for the stop RQ's own loop makes before its
        first job (its ``_stop_requested``), so the worker leaves the usual way: RQ's teardown
        stops its scheduler, and ``work``'s ``finally`` resigns the lease. (Raising here
        instead would interrupt whatever the main thread was doing — a fork, say.)"""
        if threading.current_thread() is not threading.main_thread():
            return
        installed_in = os.getpid()

        def stop_soon(signum: int, frame: Any) -> None:
            if os.getpid() != installed_in:
                # A child forked before it set handlers of its own (RQ's scheduler, in its first
                # moments) inherited this one: it must die of SIGTERM as usual, not swallow it,
                # or the worker's exit would wait for it for ever (CI, PostgreSQL, once).
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            self._stop_requested = True

        signal.signal(signal.SIGTERM, stop_soon)

    def _resign_schedules(self) -> None:
        """Give the cron lease back from the main thread too: a cron thread still busy when its
        join times out dies with the process (it is a daemon) before its own resign, and the
        other workers would then wait out the lease (``LEASE_SECONDS``) to take over."""
        runner = getattr(self, "_schedule_runner", None)
        if runner is None:
            return
        try:
            runner.resign()
        except redis.RedisError:
            log.warning("cron runner %s could not resign: the lease runs out on its own", runner.name)

    def _run_schedules(self, stop: threading.Event) -> None:
        """The schedules, when this worker leads the cron runners (``app/cron.py``)."""
        with self.app.app_context():
            state = current_state()
            runner = ScheduleRunner(state.redis.client(), all_schedules(state.registry), state.queue_name,
                                    state.clock, name=f"{self.name}:cron")
        self._schedule_runner = runner
        runner.run(stop)

    def _executing_job_ids(self) -> list[str]:
        # Only the jobs being executed right now: a fork worker outlives a horse killed
        # mid-step, and beating for that step would hide it from the reconciler.
        return [run.job_id for run in list(self.executions.values())]  # type: ignore[attr-defined]

    def _beat_in_redis(self, stop: threading.Event) -> None:
        """The beat the reconciler trusts while the database is away or slow (job_beats.py).
        A thread of its own: a database call that hangs must not make this beat late."""
        interval = self.app.config["STEP_HEARTBEAT_INTERVAL"]
        while not stop.wait(interval):
            try:
                job_ids = self._executing_job_ids()
                if job_ids:
                    with self.app.app_context():
                        state = current_state()
                        job_beats.beat(state.redis.client(), job_ids, at=state.clock.now().timestamp())
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next interval
                log.warning("Redis heartbeat of worker %s failed", self.name, exc_info=True)

    def _beat(self, stop: threading.Event) -> None:
        """Stamp ``heartbeat_at`` on the steps this worker executes (the database's view)."""
        interval = self.app.config["STEP_HEARTBEAT_INTERVAL"]
        while not stop.wait(interval):
            try:
                job_ids = self._executing_job_ids()
                if not job_ids:
                    continue
                with self.app.app_context():
                    try:
                        repos = repositories()
                        with repos.transaction():
                            repos.get(RunStepLocator).heartbeat(self.name, job_ids)
                    finally:
                        db.session.remove()
            except DatabaseUnavailableError:
                log.warning("heartbeat of worker %s not written: the database cannot be reached", self.name)
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next interval
                log.warning("heartbeat of worker %s failed", self.name, exc_info=True)

    def _time_reconciler(self, stop: threading.Event) -> None:
        interval = self.app.config["RECONCILE_INTERVAL"]
        while not stop.wait(interval):
            try:
                with self.app.app_context():
                    state = current_state()
                    if state.redis.client().set(RECONCILE_LOCK, self.name, nx=True, ex=max(1, int(interval))):
                        # At the front: behind a long queue the pass (and every recovery it
                        # makes) would wait for the whole queue to drain first.
                        state.enqueue("app.jobs.reconcile", job_timeout=600, result_ttl=3600, at_front=True)
            except Exception:  # noqa: BLE001
                log.warning("could not schedule the reconciler", exc_info=True)
