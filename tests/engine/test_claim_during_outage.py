"""A job that meets an unreachable database before its claim holds on and claims once the
database is back (issue 11): the worker takes no other job meanwhile — the queue is not
drained into failures — and the step runs once, its attempt budget untouched."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.engine.executor import StepExecutor
from app.extensions import db
from app.statuses import RunStatus

ONE_STEP = """
name: patient
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: only
    skill: test.echo
    retry: {max_attempts: 1}
    with: {text: "{{ inputs.topic }}"}
"""


@pytest.fixture
def outage(app, monkeypatch):
    """The database refuses every new connection until the job has waited three times."""
    with app.app_context():
        engine = db.engine
    waits: list[float] = []
    refused = engine.dialect.dbapi.OperationalError

    def refuse(*_args, **_kwargs):
        raise refused("connection to server failed: Connection refused")

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            event.remove(engine, "do_connect", refuse)  # the database is back

    monkeypatch.setattr(StepExecutor, "sleep", staticmethod(wait))

    def begin() -> list[float]:
        engine.dispose()
        event.listen(engine, "do_connect", refuse)
        return waits
    yield begin
    if event.contains(engine, "do_connect", refuse):
        event.remove(engine, "do_connect", refuse)


def test_a_job_holds_on_through_an_outage_and_claims_once_the_database_is_back(studio, run_jobs, outage):
    run = studio.start(ONE_STEP, topic="tides")
    waits = outage()

    assert run_jobs(max_jobs=1) == 1

    assert waits == [0.5, 1.0, 2.0]  # backing off, not failing
    assert studio.run(run.id).status == RunStatus.COMPLETED
    (attempt,) = studio.attempts(run.id)["only"]
    assert attempt.number == 1 and studio.steps(run.id)["only"].attempt == 1


def test_a_claim_whose_answer_was_lost_is_taken_up_again_not_left_to_be_judged_lost(studio, run_jobs, app,
                                                                                       monkeypatch):
    """The claim commits by itself; the database goes away as it answers. The job waits,
    finds the step running for it already, and runs it — at that attempt, once — instead of
    leaving it running for nobody until the reconciler charges it (a run crashed so in CI)."""
    run = studio.start(ONE_STEP, topic="tides")
    with app.app_context():
        engine = db.engine
    refused = engine.dialect.dbapi.OperationalError
    state = {"cut": False}

    def refuse(*_args, **_kwargs):
        raise refused("connection to server failed: Connection refused")

    def answer_lost(_conn, _cursor, statement, *_args):
        if not state["cut"] and statement.lstrip().upper().startswith("UPDATE RUN_STEPS SET STATUS"):
            state["cut"] = True
            engine.dispose()
            event.listen(engine, "do_connect", refuse)
            raise refused("server closed the connection unexpectedly")

    def wait(_seconds: float) -> None:
        if event.contains(engine, "do_connect", refuse):
            event.remove(engine, "do_connect", refuse)  # back after one wait

    monkeypatch.setattr(StepExecutor, "sleep", staticmethod(wait))
    event.listen(engine, "after_cursor_execute", answer_lost)
    try:
        assert run_jobs(max_jobs=1) == 1
    finally:
        event.remove(engine, "after_cursor_execute", answer_lost)
        if event.contains(engine, "do_connect", refuse):
            event.remove(engine, "do_connect", refuse)

    assert state["cut"]
    assert studio.run(run.id).status == RunStatus.COMPLETED
    step = studio.steps(run.id)["only"]
    assert (step.attempt, step.executions) == (1, 1)
    (attempt,) = studio.attempts(run.id)["only"]
    assert attempt.outcome.value == "completed"
