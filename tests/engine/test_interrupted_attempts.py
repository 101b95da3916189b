"""An execution the infrastructure cuts short is tried again without being charged (issue 11).

The database goes away while the skill works — its connection dies in the middle of a
statement and every new one is refused — and comes back while the job waits for it. The
step has one attempt in its budget: were the interruption charged, the run would fail."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.engine.executor import StepExecutor
from app.extensions import db
from app.models import AttemptOutcome
from app.statuses import RunStatus, StepStatus

ONE_ATTEMPT = """
name: interrupted
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: only
    skill: test.echo
    retry: {max_attempts: 1}
    with: {text: "{{ inputs.topic }}", artifact: "the draft"}
"""


def first_artifact_insert(statement: str, parameters) -> bool:
    return statement.lstrip().upper().startswith("INSERT INTO ARTIFACTS")


@pytest.fixture
def outage_while_storing(outage_at):
    """The first INSERT of an artifact loses its connection and the database stays away until
    the job has waited ``waits_away`` times; returns the list of waits."""
    return lambda waits_away: outage_at(first_artifact_insert, waits_away)


@pytest.fixture
def outage_at(app, monkeypatch):
    """The first statement ``cut_before(statement, parameters)`` picks loses its connection
    and the database stays away until the job has waited ``waits_away`` times; returns the
    list of waits."""
    with app.app_context():
        engine = db.engine
    error_class = engine.dialect.dbapi.OperationalError
    waits: list[float] = []
    away = {"waits": 0, "started": False, "cut_before": None}

    def refuse(*_args, **_kwargs):
        raise error_class("connection to server at \"127.0.0.1\", port 5432 failed: Connection refused")

    def cut(_conn, _cursor, statement, parameters, *_args):
        if not away["started"] and away["cut_before"](statement, parameters):
            away["started"] = True
            engine.dispose()  # no connection made before the outage survives it
            event.listen(engine, "do_connect", refuse)
            raise error_class("server closed the connection unexpectedly")

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == away["waits"]:
            event.remove(engine, "do_connect", refuse)  # the database is back

    monkeypatch.setattr(StepExecutor, "sleep", staticmethod(wait))

    def begin(cut_before, waits_away: int) -> list[float]:
        away["waits"], away["cut_before"] = waits_away, cut_before
        event.listen(engine, "before_cursor_execute", cut)
        return waits
    yield begin
    event.remove(engine, "before_cursor_execute", cut)
    if event.contains(engine, "do_connect", refuse):
        event.remove(engine, "do_connect", refuse)
    engine.dispose()


def test_an_execution_cut_short_by_the_database_runs_again_uncharged(studio, run_jobs, outage_while_storing):
    run = studio.start(ONE_ATTEMPT, topic="tides")
    waits = outage_while_storing(waits_away=3)

    run_jobs()

    assert waits == [0.5, 1.0, 2.0]  # the job waited for the database to record the interruption
    assert studio.run(run.id).status == RunStatus.COMPLETED
    step = studio.steps(run.id)["only"]
    assert step.status == StepStatus.COMPLETED and step.attempt == 1 and step.executions == 2
    first, second = studio.attempts(run.id)["only"]
    assert first.outcome == AttemptOutcome.INTERRUPTED and first.error["code"] == "SERVICE_UNAVAILABLE"
    assert "not charged" in first.error["message"]
    assert second.outcome == AttemptOutcome.COMPLETED


def test_an_end_undone_after_the_step_moved_is_recorded_whole_once_the_database_is_back(studio, run_jobs,
                                                                                       outage_at):
    """The database goes away after the step's completing UPDATE and before its commit: the
    UPDATE is undone, and the next try starts from the step as claimed, not as the undone
    UPDATE left it in memory (it once took the step for moved by someone else, ended the job
    and left the step running, for the reconciler to judge lost: issue 14's regression)."""
    run = studio.start(ONE_ATTEMPT, topic="tides")
    seen = {"completed": False}

    def after_the_step_completed(statement: str, parameters) -> bool:
        if seen["completed"]:
            return True
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        seen["completed"] = statement.lstrip().upper().startswith("UPDATE RUN_STEPS") and \
            any(str(getattr(value, "value", value)) == "completed" for value in values)
        return False
    waits = outage_at(after_the_step_completed, waits_away=2)

    run_jobs()

    assert seen["completed"] and waits == [0.5, 1.0]
    assert studio.run(run.id).status == RunStatus.COMPLETED
    step = studio.steps(run.id)["only"]
    assert step.status == StepStatus.COMPLETED and step.attempt == 1 and step.executions == 1
    (only,) = studio.attempts(run.id)["only"]
    assert only.outcome == AttemptOutcome.COMPLETED


def test_a_run_write_back_cut_short_is_waited_out_like_any_statement(studio, run_jobs, outage_at):
    """The run's row is written when its locked block ends; the database going away right
    there once escaped as a raw driver error, failed the job and stranded its step running."""
    run = studio.start(ONE_ATTEMPT, topic="tides")

    def writing_back_the_run(statement: str, parameters) -> bool:
        upper = statement.lstrip().upper()  # the lock's UPDATE returns the row; the write-back does not
        return upper.startswith("UPDATE RUNS SET") and "STEPS_DONE" in upper and "RETURNING" not in upper
    waits = outage_at(writing_back_the_run, waits_away=1)

    run_jobs()

    assert waits == [0.5]
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert studio.steps(run.id)["only"].attempt == 1


def test_an_interruption_in_a_cancelled_run_ends_the_step_instead(studio, run_jobs, outage_while_storing, app):
    run = studio.start(ONE_ATTEMPT, topic="tides")
    waits = outage_while_storing(waits_away=1)
    # Cancelled while the database is away (the run's owner cancels through another server).
    original = StepExecutor.sleep

    def cancel_then_wait(seconds: float) -> None:
        original(seconds)
        studio.call(lambda service: service.cancel(run.id))
    StepExecutor.sleep = staticmethod(cancel_then_wait)

    run_jobs()

    assert len(waits) == 1
    assert studio.run(run.id).status == RunStatus.CANCELLED
    step = studio.steps(run.id)["only"]
    assert step.status == StepStatus.SKIPPED
    (only,) = studio.attempts(run.id)["only"]
    assert only.outcome == AttemptOutcome.INTERRUPTED
