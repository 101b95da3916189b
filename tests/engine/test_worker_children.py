"""A killed worker leaves no process behind (issue 11): RQ's scheduler process, and a fork
worker's horse, die with the worker, so no step runs on in an orphan while the reconciler
queues it again."""

from __future__ import annotations

import uuid

import pytest

from app.statuses import RunStatus, StepStatus
from tests.engine.worker_processes import alive, children_of, fast_engine_config, wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return fast_engine_config(inkwright_config, tmp_path)


LONG = """
name: long-step
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: long
    skill: test.echo
    retry: {max_attempts: 2, backoff: 0}
    with: {text: "{{ inputs.topic }}", sleep: 20}
"""


@pytest.mark.parametrize("worker_class", ["simple", "fork", "threads"])
def test_a_killed_workers_scheduler_process_dies_with_it(workers, worker_class):
    worker = workers.start(worker_class)
    workers.ready(1)
    scheduler = wait_until(lambda: children_of(worker.pid), 20, "the worker forks its scheduler",
                           explain=workers.report)
    workers.kill(worker.pid)
    wait_until(lambda: not any(alive(pid) for pid in scheduler), 10, "the scheduler process is gone",
               explain=workers.report)


def test_a_fork_workers_horse_dies_with_its_parent_and_the_step_runs_once_more(app, studio, workers):
    parent = workers.start("fork")
    workers.ready(1)
    run = studio.start(LONG, topic=f"t-{uuid.uuid4().hex[:6]}")
    horse = wait_until(lambda: workers.horse_of(parent), 20, "the horse runs the step", explain=workers.report)
    wait_until(lambda: studio.steps(run.id)["long"].status == StepStatus.RUNNING, 10, "the step runs")

    workers.kill(parent.pid)  # 2 s or so into a 20 s step
    wait_until(lambda: not alive(horse), 10, "the horse is gone", explain=workers.report)

    # The reconciler of a second worker gives the step its second attempt; only that one ends.
    workers.start("simple")
    wait_until(lambda: studio.run(run.id).status.is_terminal, 60, "the run ends", explain=workers.report)
    attempts = studio.attempts(run.id)["long"]
    assert studio.run(run.id).status == RunStatus.COMPLETED, workers.report()
    assert [a.outcome.value for a in attempts] == ["crashed", "completed"]
    assert studio.steps(run.id)["long"].executions == 2
