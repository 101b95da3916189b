"""Fixtures for the engine's behaviour tests: a real database, real Redis, real RQ workers.

``studio`` uploads workflow YAML and drives runs as the ``user`` fixture's account (the
owner of its personal tenant) through :class:`app.engine.service.RunService`, and reads
back what a person would see: the run, its steps by key, and each step's attempt rows.
Rows come back detached from any session, so a test may read them freely afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from app.auth.principal import Principal
from app.engine.service import RunService
from app.extensions import db
from app.models import Run, RunStep, StepAttempt
from app.models.tenant import Role
from app.runtime import current_state, repositories
from app.workers import AppSimpleWorker
from tests.engine.worker_processes import worker_pool


class Studio:
    """A signed-in owner's view of the engine, one app context per call."""

    def __init__(self, app, account) -> None:
        self.app = app
        self.account = account

    def call(self, action: Callable[[RunService], Any]) -> Any:
        """Run ``action(service)`` in a fresh app context; rows it returns come back detached."""
        with self.app.app_context():
            repos = repositories(self.account.tenant_id)
            principal = Principal(repos.users.get(self.account.user.id), self.account.tenant_id, Role.OWNER, "token")
            result = action(RunService(repos, current_state(), principal))
            db.session.expunge_all()
            return result

    def upload(self, source: str):
        with self.app.app_context():
            repos = repositories(self.account.tenant_id)
            entry, _created = current_state().catalog.upload(repos, source, self.account.user.id)
            return entry

    def start(self, source: str, **inputs: Any) -> Run:
        """Upload the workflow (if it is new) and start a run of it; the run as it stands."""
        self.upload(source)
        name = yaml.safe_load(source)["name"]

        def start(service: RunService) -> Run:
            entry = current_state().catalog.resolve(service.repos, name)
            run, _created = service.start(entry, inputs)
            return run
        return self.call(start)

    def run(self, run_id: uuid.UUID) -> Run:
        return self.call(lambda service: service.repos.runs.require(run_id))

    def steps(self, run_id: uuid.UUID) -> dict[str, RunStep]:
        return self.call(lambda service: {row.step_key: row for row in service.repos.run_steps.of_run(run_id)})

    def attempts(self, run_id: uuid.UUID) -> dict[str, list[StepAttempt]]:
        """Each step's attempt rows (one per real skill execution), by step key."""
        def read(service: RunService) -> dict[str, list[StepAttempt]]:
            steps = service.repos.run_steps.of_run(run_id)
            found = service.repos.step_attempts.of_steps([row.id for row in steps])
            return {row.step_key: found.get(row.id, []) for row in steps}
        return self.call(read)

    def executions(self, run_id: uuid.UUID) -> int:
        """How many times a skill really ran for this run."""
        return sum(len(rows) for rows in self.attempts(run_id).values())

    def wait_until(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        """Poll ``condition`` (which reads rows through this studio) until it holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting for the engine"
            time.sleep(0.02)

    def queued_jobs(self) -> int:
        with self.app.app_context():
            return len(current_state().queue())


@pytest.fixture
def studio(app, user) -> Studio:
    return Studio(app, user)


class ThreadWorker(AppSimpleWorker):
    """The app's simple worker, able to run in a thread: signals belong to the main thread,
    so job timeouts use RQ's timer instead of SIGALRM and no signal handlers are installed."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


@pytest.fixture
def worker_thread(app):
    """Start a real RQ worker (burst) in a thread, alongside ``run_jobs`` in the test's own:
    ``start(max_jobs=None) -> Thread``."""
    started: list[threading.Thread] = []

    def start(max_jobs: int | None = None) -> threading.Thread:
        with app.app_context():
            state = current_state(app)
            worker = ThreadWorker([state.queue_name], connection=state.redis.client(), serializer=JSONSerializer)
        worker.app = app
        thread = threading.Thread(target=worker.work, kwargs={"burst": True, "max_jobs": max_jobs,
                                                              "logging_level": "WARNING"}, daemon=True)
        thread.start()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.join(timeout=30)


@pytest.fixture
def workers(app, inkwright_config, tmp_path):
    """Real worker processes (``workers.start("fork")``), stopped after the test; they run
    on the module's ``inkwright_config`` (``fast_engine_config`` where the module asks)."""
    with worker_pool(app, inkwright_config, tmp_path) as pool:
        yield pool
