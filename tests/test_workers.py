"""RQ workers inside the app (app/workers.py, worker.py): every class, in process and as `python worker.py`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from rq.job import JobStatus
from sqlalchemy import text

from app.cron import ScheduleRunner
from app.extensions import db
from app.runtime import current_state
from app.workers import build_worker

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).resolve().parent / "plugins"




def enqueue_purge(app):
    with app.app_context():
        return current_state().enqueue("app.jobs.purge_expired_sessions")


@pytest.mark.parametrize("worker_class", ["simple", "fork", "threads"])
def test_worker_runs_a_database_job_in_the_app_context(app, sessions, remaining_sessions, run_jobs, worker_class):
    lapsed, live = sessions
    job = enqueue_purge(app)
    assert run_jobs(worker_class) == 1
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 1
    assert remaining_sessions() == {live}


def test_failed_job_is_recorded_and_the_worker_goes_on(app, sessions, remaining_sessions, run_jobs):
    lapsed, live = sessions
    with app.app_context():
        missing = current_state().enqueue("app.jobs.deliver_event", str(uuid.uuid4()))
    purge = enqueue_purge(app)
    assert run_jobs() == 2
    missing.refresh()
    assert missing.get_status() == JobStatus.FAILED
    assert "NotFoundError" in missing.latest_result().exc_string
    assert purge.get_status() == JobStatus.FINISHED
    assert remaining_sessions() == {live}


@pytest.mark.postgres_only
def test_forked_horse_opens_its_own_connection_and_leaves_the_parents_alone(app, inkwright_database, monkeypatch):
    if not inkwright_database.is_postgres:
        pytest.skip("backend process ids exist on PostgreSQL only")
    monkeypatch.syspath_prepend(str(SUPPORT))
    worker = build_worker(app, "fork")
    with app.app_context():
        parent_backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()  # back to the pool the horse inherits
        job = current_state().enqueue("inkwright_sample_jobs.database_connection")
    worker.work(burst=True, logging_level="WARNING")
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string
    horse = job.return_value()
    assert horse["pid"] != os.getpid()
    assert horse["backend"] != parent_backend
    with app.app_context():
        # The parent's pooled connection survived the horse: same backend, still answering.
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() == parent_backend
        db.session.remove()


def worker_environment(tmp_path, **settings: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("INKWRIGHT_")}
    environment.update(INKWRIGHT_INSTANCE_PATH=str(tmp_path / "worker-instance"), INKWRIGHT_LOG_LEVEL="WARNING",
                       **{f"INKWRIGHT_{key}": value for key, value in settings.items()})
    return environment


def test_worker_script_processes_the_queue_and_exits_in_burst_mode(
        app, sessions, remaining_sessions, inkwright_database, inkwright_redis_url, tmp_path):
    lapsed, live = sessions
    job = enqueue_purge(app)
    finished = subprocess.run(
        [sys.executable, "worker.py", "--burst", "--class", "fork"], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
        env=worker_environment(tmp_path, DATABASE_URL=inkwright_database.url, REDIS_URL=inkwright_redis_url),
    )
    assert finished.returncode == 0, finished.stderr
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert remaining_sessions() == {live}
    assert current_state(app).queue().count == 0


def test_worker_script_refuses_to_start_without_a_redis_url(app, sessions, remaining_sessions, inkwright_database, tmp_path):
    job = enqueue_purge(app)
    finished = subprocess.run(
        [sys.executable, "worker.py", "--burst"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=worker_environment(tmp_path, DATABASE_URL=inkwright_database.url),
    )
    assert finished.returncode == 2
    assert "set INKWRIGHT_REDIS_URL to the Redis the web app uses" in finished.stderr
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert len(remaining_sessions()) == 2


@pytest.mark.parametrize(("arguments", "said"), [
    (["--class", "threads", "--concurrency", "0"], "WORKER_CONCURRENCY: must be at least 1"),
    (["--class", "simple", "--concurrency", "4"], "a simple worker runs one job at a time"),
])
def test_worker_script_refuses_a_concurrency_it_cannot_run_and_takes_no_job(
        app, sessions, inkwright_database, inkwright_redis_url, tmp_path, arguments, said):
    job = enqueue_purge(app)
    finished = subprocess.run(
        [sys.executable, "worker.py", "--burst", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=worker_environment(tmp_path, DATABASE_URL=inkwright_database.url, REDIS_URL=inkwright_redis_url),
    )
    assert finished.returncode == 2
    assert said in finished.stderr
    assert job.get_status(refresh=True) == JobStatus.QUEUED


def test_worker_script_refuses_a_concurrency_beyond_a_pool_set_by_hand(
        app, sessions, inkwright_database, inkwright_redis_url, tmp_path):
    job = enqueue_purge(app)
    finished = subprocess.run(
        [sys.executable, "worker.py", "--burst", "--class", "threads", "--concurrency", "12"], cwd=ROOT,
        capture_output=True, text=True, timeout=60,
        env=worker_environment(tmp_path, DATABASE_URL=inkwright_database.url, REDIS_URL=inkwright_redis_url,
                               DATABASE_POOL_SIZE="6"),
    )
    assert finished.returncode == 2
    assert "12 jobs at once need 14 database connections" in finished.stderr and "holds 6" in finished.stderr
    assert job.get_status(refresh=True) == JobStatus.QUEUED


def test_worker_script_runs_a_threads_worker_sized_by_its_concurrency(
        app, sessions, remaining_sessions, inkwright_database, inkwright_redis_url, tmp_path):
    lapsed, live = sessions
    job = enqueue_purge(app)
    finished = subprocess.run(
        [sys.executable, "worker.py", "--burst", "--class", "threads", "--concurrency", "48"], cwd=ROOT,
        capture_output=True, text=True, timeout=60,
        env=worker_environment(tmp_path, DATABASE_URL=inkwright_database.url, REDIS_URL=inkwright_redis_url),
    )
    assert finished.returncode == 0, finished.stderr
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert remaining_sessions() == {live}


def test_three_workers_with_cron_elect_one_leader_and_it_resigns_on_the_way_out(
        app, inkwright_database, inkwright_redis_url, tmp_path):
    """The wiring, with real processes: each worker started --with-cron runs a schedule runner,
    exactly one leads (tests/test_cron.py shows, on a clock moved by hand, that only the
    leader enqueues and missed runs run once), and a worker stopping gives the lease back."""
    environment = worker_environment(tmp_path, DATABASE_URL=inkwright_database.url, REDIS_URL=inkwright_redis_url)
    logs = [tmp_path / f"worker-{n}.log" for n in range(1, 4)]
    workers = []
    for log in logs:  # to files: a full pipe would block a worker's logging, and its stop
        with log.open("wb") as output:
            workers.append(subprocess.Popen([sys.executable, "worker.py", "--with-cron", "--class", "simple"],
                                            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT))
    client = redis.Redis.from_url(inkwright_redis_url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and ScheduleRunner.leader(client) is None:
            time.sleep(0.2)  # real processes starting: nothing to inject a clock into
        leader = ScheduleRunner.leader(client)
        assert leader is not None and leader.endswith(":cron"), [w.poll() for w in workers]
        while time.monotonic() < deadline and len(ScheduleRunner.last_runs(client)) < 3:
            time.sleep(0.2)
        assert set(ScheduleRunner.last_runs(client)) >= {"credits.rollover", "retention.purge", "sessions.purge"}
        assert {ScheduleRunner.leader(client) for _ in range(5)} == {leader}  # one leader, not three
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        stopped = []
        for worker in workers:
            try:
                stopped.append(worker.wait(timeout=30))
            except subprocess.TimeoutExpired:
                worker.kill()  # never left behind to take the next tests' jobs
                worker.wait(timeout=10)
    said = "\n".join(f"--- {log.name} (exit {worker.returncode}) ---\n{log.read_text(errors='replace')[-2000:]}"
                     for log, worker in zip(logs, workers))
    assert len(stopped) == 3, f"a worker did not stop within 30 s of SIGTERM\n{said}"
    assert ScheduleRunner.leader(client) is None, said  # the leader resigned as it stopped
    client.close()


def _sleep_in_a_child() -> None:
    time.sleep(30)


def test_a_child_forked_before_its_own_handlers_still_dies_of_sigterm(app):
    """RQ's scheduler is forked while the worker's early SIGTERM handler is installed, and for
    its first moments has no handler of its own: the inherited one must not swallow the
    SIGTERM the worker's way out sends it (once, on PostgreSQL, the exit waited on it for ever)."""
    from multiprocessing.context import ForkProcess

    worker = build_worker(app, "simple")
    before = signal.getsignal(signal.SIGTERM)
    try:
        worker._stop_on_early_sigterm()
        child = ForkProcess(target=_sleep_in_a_child)
        child.start()
        time.sleep(0.2)
        child.terminate()
        child.join(timeout=5)
        assert not child.is_alive() and child.exitcode == -signal.SIGTERM
        assert worker._stop_requested is False, "the child's signal is not the worker's"
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's own SIGTERM only asks for the stop
        assert worker._stop_requested is True
    finally:
        signal.signal(signal.SIGTERM, before)
        if child.is_alive():
            child.kill()


def test_a_worker_stopped_as_soon_as_it_leads_gives_the_lease_back(app, inkwright_database, inkwright_redis_url,
                                                                   tmp_path):
    """SIGTERM the moment the cron thread has the lease: RQ may not have installed its own
    handlers yet (it does after registering and subscribing), and the default action would
    kill the process with the lease held for its 30 s."""
    environment = worker_environment(tmp_path, DATABASE_URL=inkwright_database.url, REDIS_URL=inkwright_redis_url)
    log = tmp_path / "worker.log"
    client = redis.Redis.from_url(inkwright_redis_url)
    with log.open("wb") as output:
        worker = subprocess.Popen([sys.executable, "worker.py", "--with-cron", "--class", "simple"], cwd=ROOT,
                                  env=environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and ScheduleRunner.leader(client) is None and worker.poll() is None:
            time.sleep(0.005)  # real processes starting: nothing to inject a clock into
        assert ScheduleRunner.leader(client) is not None, log.read_text(errors="replace")
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    assert code == 0, log.read_text(errors="replace")[-2000:]
    assert ScheduleRunner.leader(client) is None
    client.close()
