"""Durability with real ``python worker.py`` processes (issue 3, "Prove the durability"):
a worker SIGKILLed in the middle of a step, with every worker class (a ``threads`` worker
with eight steps in flight, issue 10), and Redis flushed in the middle of a run. The database is the source of truth: a later worker (its built-in
reconciler) finishes the run, within the step's attempt budget, with no artifact stored
twice and no output lost; a step out of attempts fails and its run ends ``crashed``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from app.extensions import db
from app.models import Artifact, AttemptOutcome
from app.statuses import RunStatus, StepStatus
from tests.engine.worker_processes import alive, fast_engine_config, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return fast_engine_config(inkwright_config, tmp_path)


def chain(name: str, max_attempts: int, sleep: float, candidates: int = 1) -> str:
    """first → middle (slow, stores an artifact, ``candidates`` outputs) → last (reads middle)."""
    return f"""
name: {name}
version: "1"
inputs:
  topic: {{type: string, required: true}}
steps:
  - id: first
    skill: test.echo
    with: {{text: "{{{{ inputs.topic }}}}"}}
  - id: middle
    skill: test.echo
    candidates: {candidates}
    retry: {{max_attempts: {max_attempts}, backoff: 0}}
    with:
      text: "{{{{ steps.first.output.text }}}} rising"
      sleep: {sleep}
      artifact: "tide table of {{{{ inputs.topic }}}}"
  - id: last
    skill: test.echo
    with: {{text: "{{{{ steps.middle.output.text }}}} / {{{{ steps.middle.output.artifact_id }}}}"}}
"""


def stored_files(folder: str) -> list[Path]:
    return [path for path in Path(folder).rglob("*") if path.is_file() and not path.name.startswith(".incoming-")]


def artifacts_of(app, step_id) -> list[Artifact]:
    with app.app_context():
        rows = db.session.query(Artifact).filter(Artifact.run_step_id == step_id).all()
        db.session.expunge_all()
        return rows


class Scene:
    """One run of a workflow and the ways a test waits on it."""

    def __init__(self, studio, workers, run) -> None:
        self.studio, self.workers, self.run = studio, workers, run

    def wait(self, what: str, condition, timeout: float = 25.0):
        return wait_until(condition, timeout, what, explain=self.explain)

    def explain(self) -> str:
        steps = self.studio.steps(self.run.id)
        attempts = self.studio.attempts(self.run.id)
        lines = [f"run {self.studio.run(self.run.id).status.value}"]
        lines += [f"  {key}: {row.status.value} attempt {row.attempt}/{row.max_attempts} job {row.job_id} "
                  f"attempts {[a.outcome.value for a in attempts[key]]}" for key, row in steps.items()]
        return "\n".join(lines) + "\n" + self.workers.report()

    def step_running(self, key: str):
        """The step is running an attempt (the skill is at work)."""
        def check():
            step = self.studio.steps(self.run.id)[key]
            if step.status == StepStatus.RUNNING and step.attempt >= 1 and step.attempt_started_at is not None:
                return step
            return None
        return self.wait(f"step {key} runs", check)

    def ended(self):
        return self.wait("the run ends", lambda: (run := self.studio.run(self.run.id)).status.is_terminal and run)


def start(studio, workers, source: str) -> Scene:
    return Scene(studio, workers, studio.start(source, topic=f"tides-{uuid.uuid4().hex[:6]}"))


def assert_recovered(app, scene: Scene, inkwright_config, budget: int) -> None:
    """The run completed; nothing ran beyond the budget, nothing was stored twice or lost."""
    run = scene.ended()
    assert run.status == RunStatus.COMPLETED, scene.explain()
    steps, attempts = scene.studio.steps(run.id), scene.studio.attempts(run.id)
    assert all(step.status == StepStatus.COMPLETED for step in steps.values())
    middle = steps["middle"]
    assert 1 <= len(attempts["middle"]) <= budget
    assert [a.number for a in attempts["middle"]] == list(range(1, len(attempts["middle"]) + 1))
    assert not [a for rows in attempts.values() for a in rows if a.outcome == AttemptOutcome.RUNNING]
    assert [len(attempts[key]) for key in ("first", "last")] == [1, 1]
    # One artifact row and one stored file, however many attempts stored the same bytes.
    (artifact,) = artifacts_of(app, middle.id)
    (path,) = stored_files(inkwright_config["ARTIFACT_DIR"])
    assert path.name == artifact.content_hash
    assert path.read_text() == f"tide table of {run.inputs['topic']}"
    # The output is there, and the step after it read it.
    assert middle.output["text"] == f"{run.inputs['topic']} rising"
    assert middle.output["artifact_id"] == str(artifact.id)
    assert middle.output_artifact_ids == [str(artifact.id)]
    assert steps["last"].output["text"] == f"{run.inputs['topic']} rising / {artifact.id}"


IN_PROCESS_CLASSES = pytest.mark.parametrize("worker_class", ["simple", "threads"])


@IN_PROCESS_CLASSES
def test_a_worker_killed_mid_step_is_replaced_and_the_run_completes_within_budget(
        app, studio, workers, inkwright_config, worker_class):
    doomed = workers.start(worker_class)
    scene = start(studio, workers, chain("killed-simple", max_attempts=3, sleep=0.8, candidates=2))
    scene.step_running("middle")
    # Kill it after the first candidate stored its artifact, while the second one works.
    middle_id = studio.steps(scene.run.id)["middle"].id
    scene.wait("the first candidate stored its artifact", lambda: artifacts_of(app, middle_id))
    workers.kill(doomed.pid)
    workers.start(worker_class)

    assert_recovered(app, scene, inkwright_config, budget=3)
    attempts = studio.attempts(scene.run.id)["middle"]
    assert [a.outcome for a in attempts] == [AttemptOutcome.CRASHED, AttemptOutcome.COMPLETED]
    assert attempts[0].error["code"] == "WORKER_LOST"
    assert attempts[0].worker_name != attempts[1].worker_name


@IN_PROCESS_CLASSES
def test_a_step_out_of_attempts_when_its_worker_dies_fails_and_the_run_ends_crashed(app, studio, workers,
                                                                                    worker_class):
    workers.start(worker_class)
    workers.start(worker_class)
    scene = start(studio, workers, chain("killed-budget", max_attempts=1, sleep=1.0))
    running = scene.step_running("middle")
    # Kill the worker running it; the other one's reconciler finds the step's heartbeat stale.
    workers.kill(workers.named(running.worker_name).pid)

    run = scene.ended()
    assert run.status == RunStatus.CRASHED, scene.explain()
    assert run.error["code"] == "WORKER_LOST"
    assert run.error["failedStepId"] == "middle"
    steps, attempts = studio.steps(run.id), studio.attempts(run.id)
    assert steps["middle"].status == StepStatus.FAILED
    assert steps["middle"].error["code"] == "WORKER_LOST"
    assert [a.outcome for a in attempts["middle"]] == [AttemptOutcome.CRASHED]
    assert steps["last"].status == StepStatus.SKIPPED
    assert attempts["last"] == []
    assert steps["middle"].output is None


def test_a_fork_workers_horse_killed_mid_step_is_retried_and_the_run_completes(
        app, studio, workers, inkwright_config):
    parent = workers.start("fork")
    scene = start(studio, workers, chain("killed-horse", max_attempts=3, sleep=0.8, candidates=2))
    scene.step_running("middle")
    middle_id = studio.steps(scene.run.id)["middle"].id
    scene.wait("the first candidate stored its artifact", lambda: artifacts_of(app, middle_id))
    horse = wait_until(lambda: workers.horse_of(parent), 5, "the worker has a horse")
    workers.kill(horse)

    # The parent lives on: its own reconciler gives the lost attempt up and it runs the next.
    assert_recovered(app, scene, inkwright_config, budget=3)
    attempts = studio.attempts(scene.run.id)["middle"]
    assert [a.outcome for a in attempts] == [AttemptOutcome.CRASHED, AttemptOutcome.COMPLETED]
    assert parent.poll() is None


def test_a_fork_worker_killed_while_its_horse_works_loses_nothing_and_duplicates_nothing(
        app, studio, workers, inkwright_config):
    workers.start("fork")
    workers.start("fork")
    scene = start(studio, workers, chain("killed-parent", max_attempts=3, sleep=0.6, candidates=2))
    running = scene.step_running("middle")
    parent = workers.named(running.worker_name)
    horse = wait_until(lambda: workers.horse_of(parent), 5, "the worker's horse is known")
    workers.kill(parent.pid)

    # The orphaned horse may finish its attempt, or the other worker's reconciler may give it
    # up first and run another: either way one output, one artifact, within the budget.
    assert_recovered(app, scene, inkwright_config, budget=3)
    assert not alive(horse)


@IN_PROCESS_CLASSES
def test_redis_flushed_mid_run_is_rebuilt_by_the_reconciler_and_every_step_runs_once(
        app, studio, workers, inkwright_redis_url, worker_class):
    source = """
name: flushed
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: opening
    skill: test.echo
    with: {text: "{{ inputs.topic }}", sleep: 0.3}
  - id: left
    skill: test.echo
    with: {text: "L {{ steps.opening.output.text }}", sleep: 0.7}
  - id: right
    skill: test.echo
    with: {text: "R {{ steps.opening.output.text }}", sleep: 0.7}
  - id: closing
    skill: test.echo
    with: {text: "{{ steps.left.output.text }} + {{ steps.right.output.text }}"}
"""
    # One job at a time, so one side waits in the queue while the other runs.
    workers.start(worker_class, concurrency=1 if worker_class == "threads" else None)
    scene = start(studio, workers, source)

    def one_running_one_queued():
        steps = studio.steps(scene.run.id)
        statuses = {steps["left"].status, steps["right"].status}
        return statuses == {StepStatus.RUNNING, StepStatus.QUEUED} and steps
    steps = scene.wait("one side runs while the other waits in the queue", one_running_one_queued)
    waiting = next(steps[key] for key in ("left", "right") if steps[key].status == StepStatus.QUEUED)
    client = redis.Redis.from_url(inkwright_redis_url)
    assert client.flushdb()
    # Live workers write their heartbeats again at once, so the store is not empty for long;
    # what matters is that the waiting step's job is gone.
    assert not client.exists(f"rq:job:{waiting.job_id}")
    client.close()

    run = scene.ended()
    assert run.status == RunStatus.COMPLETED, scene.explain()
    steps, attempts = studio.steps(run.id), studio.attempts(run.id)
    # The job of the step waiting in the queue was lost with Redis; it ran under a new one.
    assert steps[waiting.step_key].job_id != waiting.job_id
    for key, rows in attempts.items():
        assert [(a.number, a.outcome) for a in rows] == [(1, AttemptOutcome.COMPLETED)], key
    topic = run.inputs["topic"]
    assert steps["closing"].output["text"] == f"L {topic} + R {topic}"
    assert run.steps_done == run.steps_total == 4


EIGHT_AT_ONCE = """
name: eight-at-once
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
""" + "".join(f"""  - id: part{index}
    skill: test.echo
    retry: {{max_attempts: 2, backoff: 0}}
    with: {{text: "{{{{ inputs.topic }}}} part {index}", sleep: 1.0, artifact: "part {index}"}}
""" for index in range(8))


def test_a_threads_worker_killed_with_eight_steps_in_flight_loses_none_of_them(app, studio, workers):
    doomed = workers.start("threads", concurrency=8)
    scene = start(studio, workers, EIGHT_AT_ONCE)

    def all_eight_running():
        steps = studio.steps(scene.run.id).values()
        return all(step.status == StepStatus.RUNNING and step.attempt_started_at for step in steps)
    scene.wait("all eight steps run at once in the one worker", all_eight_running)
    assert {step.worker_name for step in studio.steps(scene.run.id).values()} == {
        next(worker.name for worker in workers.registered() if worker.pid == doomed.pid)}
    workers.kill(doomed.pid)
    workers.start("threads", concurrency=8)

    run = scene.ended()
    assert run.status == RunStatus.COMPLETED, scene.explain()
    for key, rows in studio.attempts(run.id).items():
        # Each lost its first execution with the worker and completed its second, within budget 2.
        assert [a.outcome for a in rows] == [AttemptOutcome.CRASHED, AttemptOutcome.COMPLETED], key
        assert rows[0].error["code"] == "WORKER_LOST"
    steps = studio.steps(run.id)
    assert sorted(step.output["text"] for step in steps.values()) == sorted(
        f"{run.inputs['topic']} part {index}" for index in range(8))
    assert all(len(artifacts_of(app, step.id)) == 1 for step in steps.values())
