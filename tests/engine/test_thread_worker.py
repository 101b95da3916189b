"""The ``threads`` worker (app/thread_worker.py): many steps in flight in one process.

In process, with real RQ, Redis and database: a burst keeps eight slow steps in flight at
once, waits for the dependents the first ones enqueue, and stamps a heartbeat on every
step in flight; bad concurrencies and pools too small are refused before the worker
registers. Killing a thread worker with steps in flight is in ``test_durability.py``.
"""

from __future__ import annotations

import threading

import pytest
from rq import Worker

from app.engine import job_beats
from app.errors import ConfigError
from app.extensions import db
from app.runtime import current_state
from app.statuses import RunStatus, StepStatus
from app.thread_worker import AppThreadWorker, check_concurrency, connections_needed, pool_capacity
from app.workers import build_worker


def wide(name: str, count: int, sleep: float) -> str:
    steps = "".join(f"  - id: s{index}\n    skill: test.echo\n    cache: \"off\"\n"
                    f"    with: {{text: \"{index}\", sleep: {sleep}}}\n" for index in range(count))
    return f'name: {name}\nversion: "1"\nsteps:\n{steps}'


CHAIN = """
name: chained
version: "1"
steps:
  - id: a
    skill: test.echo
    with: {text: "a", sleep: 0.1}
  - id: b
    skill: test.echo
    with: {text: "{{ steps.a.output.text }}b"}
  - id: c
    skill: test.echo
    with: {text: "{{ steps.b.output.text }}c"}
"""


def most_at_once(attempts) -> int:
    """The largest number of these executions that were running at the same moment."""
    edges = sorted([(a.started_at, 1) for a in attempts] + [(a.ended_at, -1) for a in attempts],
                   key=lambda edge: (edge[0], edge[1]))
    running = peak = 0
    for _moment, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def test_a_burst_keeps_eight_slow_steps_in_flight_at_once_in_one_process(app, studio):
    run = studio.start(wide("wide-eight", 8, sleep=0.5))
    worker = build_worker(app, "threads", concurrency=8)
    worker.listens_for_commands = False
    worker.work(burst=True, logging_level="WARNING")

    assert studio.run(run.id).status == RunStatus.COMPLETED
    attempts = [row for rows in studio.attempts(run.id).values() for row in rows]
    assert len(attempts) == 8 and {a.worker_name for a in attempts} == {worker.name}
    assert most_at_once(attempts) == 8


def test_no_more_than_its_concurrency_run_at_once(app, studio):
    run = studio.start(wide("wide-six", 6, sleep=0.2))
    worker = build_worker(app, "threads", concurrency=2)
    worker.listens_for_commands = False
    worker.work(burst=True, logging_level="WARNING")

    attempts = [row for rows in studio.attempts(run.id).values() for row in rows]
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert most_at_once(attempts) == 2


def test_a_burst_waits_for_the_dependents_its_jobs_in_flight_enqueue(app, studio):
    run = studio.start(CHAIN)
    worker = build_worker(app, "threads", concurrency=4)
    worker.listens_for_commands = False
    worker.work(burst=True, logging_level="WARNING")

    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert studio.steps(run.id)["c"].output["text"] == "abc"
    assert worker.in_flight == 0
    assert Worker.find_by_key(worker.key, connection=worker.connection).death_date is not None


def test_the_heartbeat_covers_every_step_in_flight(app, studio, make_app):
    beating = make_app(STEP_HEARTBEAT_INTERVAL=0.1)
    run = studio.start(wide("wide-beats", 4, sleep=0.8))
    seen: list[bool] = []

    def all_beating() -> bool:
        steps = studio.steps(run.id).values()
        return all(s.status == StepStatus.RUNNING and s.heartbeat_at is not None
                   and s.heartbeat_at > s.attempt_started_at for s in steps)

    def watch() -> None:  # the worker keeps the main thread (RQ installs signal handlers there)
        try:
            studio.wait_until(all_beating, timeout=10)
            seen.append(True)
        except AssertionError:
            seen.append(False)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    worker = build_worker(beating, "threads", concurrency=4)
    worker.listens_for_commands = False
    worker.work(burst=True, logging_level="WARNING")
    watcher.join(timeout=15)

    assert seen == [True], "not every step in flight had a heartbeat after its start"
    assert studio.run(run.id).status == RunStatus.COMPLETED
    # Each was beaten in Redis too, where a database outage cannot silence it (job_beats.py).
    client = worker.connection
    for step in studio.steps(run.id).values():
        beaten = client.zscore(job_beats.BEATING_JOBS, step.job_id)
        assert beaten is not None and beaten > step.attempt_started_at.timestamp(), step.step_key


@pytest.mark.parametrize("concurrency", [0, -3, "eight", True, 2.5])
def test_a_concurrency_that_is_not_a_positive_whole_number_is_refused(concurrency):
    with pytest.raises(ConfigError) as refused:
        check_concurrency(concurrency, pool_capacity=None)
    assert "WORKER_CONCURRENCY" in str(refused.value) and "1 or more" in str(refused.value)


def test_a_pool_too_small_for_the_concurrency_is_refused_with_the_numbers():
    with pytest.raises(ConfigError) as refused:
        check_concurrency(8, pool_capacity=6)
    message = str(refused.value)
    assert "8 jobs at once need 10 database connections" in message and "holds 6" in message
    assert check_concurrency(8, pool_capacity=connections_needed(8)) == 8


def test_the_worker_refuses_at_start_a_concurrency_its_pool_cannot_serve(app, studio, make_app):
    capped = make_app(DATABASE_POOL_SIZE=4)
    with capped.app_context():
        assert pool_capacity(db.engine) == 4
    run = studio.start(wide("wide-refused", 1, sleep=0))
    worker = build_worker(capped, "threads", concurrency=3)
    worker.listens_for_commands = False
    with pytest.raises(ConfigError, match="need 5 database connections"):
        worker.work(burst=True, logging_level="WARNING")
    # Refused before it registered or took a job: the step still waits on the queue.
    with capped.app_context():
        queue = current_state().queue()
        assert Worker.all(connection=queue.connection, queue=queue) == [] and len(queue) == 1
    assert studio.steps(run.id)["s0"].status == StepStatus.QUEUED


def test_the_pool_grows_with_the_concurrency_by_default(make_app):
    wide_app = make_app(WORKER_CONCURRENCY=40)
    with wide_app.app_context():
        assert pool_capacity(db.engine) >= connections_needed(40)


def test_only_a_threads_worker_takes_a_concurrency(app):
    with pytest.raises(ConfigError, match="runs one job at a time"):
        build_worker(app, "simple", concurrency=4)
    with pytest.raises(ConfigError, match="is not one of"):
        build_worker(app, "greenlets")


def test_a_threads_worker_refuses_the_stop_job_command_and_says_why(app, caplog):
    worker = build_worker(app, "threads", concurrency=2)
    assert isinstance(worker, AppThreadWorker)
    worker.request_stop_execution("some-execution")
    assert "refusing to stop execution some-execution" in caplog.text
    assert "Cancel its run instead" in caplog.text
