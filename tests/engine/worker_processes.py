"""Real ``python worker.py`` processes for the durability and concurrency tests.

A test module that uses them asks for the ``workers`` fixture (``tests/engine/conftest.py``)
and declares the settings it changes, so they stay local to it::

    @pytest.fixture
    def inkwright_config(inkwright_config, tmp_path):
        return fast_engine_config(inkwright_config, tmp_path)

:func:`fast_engine_config` gives a fast heartbeat (0.2 s), a short staleness limit (1.5 s), a
reconciler pass every 0.5 s inside each worker, and an artifact folder shared by the test and
its workers. :func:`worker_pool` gives a :class:`WorkerProcesses` that starts workers on the
test's database and Redis, SIGKILLs whichever the test chooses, and kills every one (and any
process they forked) when the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from rq import Worker

from app.runtime import current_state

ROOT = Path(__file__).resolve().parents[2]

TIMINGS = {"STEP_HEARTBEAT_INTERVAL": 0.2, "STEP_STALE_AFTER": 1.5, "RECONCILE_INTERVAL": 0.5}


def fast_engine_config(config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The suite's settings with the short engine timings and an artifact folder in ``tmp_path``."""
    return {**config, **TIMINGS, "ARTIFACT_DIR": str(tmp_path / "artifacts")}


def children_of(pid: int, own_group: bool = False) -> list[int]:
    """The processes whose parent is ``pid``, read from /proc; with ``own_group``, only those
    that lead a process group of their own, as an RQ work horse does (the worker's scheduler
    process stays in the worker's group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces or parentheses, so split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and (not own_group or int(fields[2]) == int(entry.name)):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05,
               explain: Callable[[], str] | None = None) -> Any:
    """Poll ``condition`` until it returns something truthy; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            details = explain() if explain else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting until {what}\n{details}")
        time.sleep(interval)


class WorkerProcesses:
    """``python worker.py`` children of the test, each logging to a file of its own."""

    def __init__(self, environment: dict[str, str], logs: Path, registered: Callable[[], list[Worker]]) -> None:
        self.environment = environment
        self.logs = logs
        self.registered = registered
        self.started: list[subprocess.Popen] = []
        self.log_of: dict[int, Path] = {}
        #: Children of the workers (horses, RQ scheduler processes): they outlive a killed parent.
        self.children: set[int] = set()

    def start(self, worker_class: str = "simple", concurrency: int | None = None) -> subprocess.Popen:
        log = self.logs / f"worker-{len(self.started) + 1}-{worker_class}.log"
        command = [sys.executable, "worker.py", "--class", worker_class]
        if concurrency is not None:
            command += ["--concurrency", str(concurrency)]
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=self.environment, stdout=output,
                                       stderr=subprocess.STDOUT)
        self.log_of[process.pid] = log
        self.started.append(process)
        return process

    def ready(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` workers listen on the queue (each takes a second or two to start)."""
        wait_until(lambda: len(self.registered()) >= count, timeout, f"{count} workers listen", interval=0.1,
                   explain=self.report)

    def named(self, name: str) -> subprocess.Popen:
        """The process of the RQ worker called ``name`` (what a running step's ``worker_name`` says)."""
        pid = next(worker.pid for worker in self.registered() if worker.name == name)
        return next(process for process in self.started if process.pid == pid)

    def horse_of(self, process: subprocess.Popen) -> int | None:
        """The work horse a fork worker is running a job in, if any."""
        horses = children_of(process.pid, own_group=True)
        self.children.update(horses)
        return horses[0] if horses else None

    def kill(self, pid: int) -> None:
        """SIGKILL: no handler runs, nothing is cleaned up, as when a machine loses a process."""
        self.children.update(children_of(pid))
        os.kill(pid, signal.SIGKILL)
        for process in self.started:
            if process.pid == pid:
                process.wait(timeout=10)

    def report(self) -> str:
        """The tail of every worker's log, for a failing test's message."""
        parts = []
        for process in self.started:
            log = self.log_of[process.pid]
            parts.append(f"--- {log.name} (exit {process.poll()}) ---\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                self.children.update(children_of(process.pid))
        for pid in [p.pid for p in self.started if p.poll() is None] + sorted(self.children):
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for process in self.started:
            process.wait(timeout=10)


def worker_environment(config: dict[str, Any], instance: Path) -> dict[str, str]:
    """The environment of a worker using the test app's database, Redis and settings."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("INKWRIGHT_")}
    names = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ARTIFACT_DIR", *TIMINGS)
    environment.update({f"INKWRIGHT_{name}": str(config[name]) for name in names})
    environment.update(INKWRIGHT_INSTANCE_PATH=str(instance), INKWRIGHT_LOG_LEVEL="WARNING")
    return environment


@contextmanager
def worker_pool(app, config: dict[str, Any], tmp_path: Path) -> Iterator[WorkerProcesses]:
    """Worker processes for one test (``pool.start("simple" | "fork" | "threads")``); all die at the end."""
    logs = tmp_path / "worker-logs"
    logs.mkdir()

    def registered() -> list[Worker]:
        with app.app_context():
            queue = current_state().queue()
            return Worker.all(connection=queue.connection, queue=queue)

    pool = WorkerProcesses(worker_environment(config, tmp_path / "worker-instance"), logs, registered)
    try:
        yield pool
    finally:
        pool.stop_all()
