"""One try of an agent run on a worker (app/agent_runs/execution.py): retries of a flaky
provider, a call that cannot be paid for, a lost worker, rule 3's five minutes, priorities."""

from __future__ import annotations

import json
import uuid

import pytest
from rq import Queue

from app.agent_runs.execution import sweep
from app.chat_server import completion_body
from app.extensions import db
from app.models import AgentRun, AgentRunStatus, UsageLogEntry
from app.runtime import current_state, repositories
from app.toolkit import Agent, ReviewReport

NO_FINDINGS = completion_body(json.dumps({"findings": []}), prompt_tokens=20, completion_tokens=5)
MODEL = "openai:gpt-4o-mini"


@pytest.fixture
def app(make_app, chat_server, clock):
    chat_server.reply((200, NO_FINDINGS))
    return make_app(OPENAI_BASE_URL=chat_server.url, OPENAI_API_KEY="sk-platform-key-0000", PROVIDER_MAX_RETRIES=0)


def agent_run(app, run_id) -> AgentRun:
    with app.app_context():
        row = db.session.get(AgentRun, uuid.UUID(run_id))
        db.session.expunge_all()
        return row


def usage_of(app, run_id) -> list[UsageLogEntry]:
    with app.app_context():
        rows = db.session.query(UsageLogEntry).filter(UsageLogEntry.agent_run_id == uuid.UUID(run_id)) \
            .order_by(UsageLogEntry.created_at).all()
        db.session.expunge_all()
        return rows


def work_until_finished(app, run_jobs, run_id, tries: int = 8) -> AgentRun:
    """Work the queues, moving delayed retries on when they are due (RQ's scheduler would)."""
    for _ in range(tries):
        run_jobs(scheduled=True)
        row = agent_run(app, run_id)
        if row.status.is_terminal:
            return row
    raise AssertionError(f"the run did not finish: {row.status}")


def test_a_flaky_provider_is_retried_and_the_run_completes(app, chat_server, start_review, run_jobs):
    chat_server.reply((503, {"error": {"message": "busy"}}), (503, {"error": {"message": "busy"}}), (200, NO_FINDINGS))
    run = start_review(model=MODEL).json["data"]

    done = work_until_finished(app, run_jobs, run["id"])

    assert (done.status, done.retry_count) == (AgentRunStatus.COMPLETED, 2)
    rows = usage_of(app, run["id"])
    assert [row.status.value for row in rows] == ["failed", "failed", "success"]
    assert {row.agent_type for row in rows} == {"test.proofread"}


def test_a_provider_that_keeps_failing_fails_the_run_after_three_retries(app, chat_server, start_review, run_jobs):
    chat_server.reply((503, {"error": {"message": "busy"}}))
    run = start_review(model=MODEL).json["data"]

    done = work_until_finished(app, run_jobs, run["id"])

    assert (done.status, done.retry_count, done.max_retries) == (AgentRunStatus.FAILED, 3, 3)
    assert len(chat_server.requests) == 4  # the first try and three retries, no more
    assert "after 3 retries" in done.error_message


def test_a_call_that_cannot_be_paid_for_fails_the_run_at_once(app, user, start_review, run_jobs, chat_server):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.credit_accounts.set_subscription(user.user.id, status="canceled")
    run = start_review(model=MODEL).json["data"]

    done = work_until_finished(app, run_jobs, run["id"])

    assert (done.status, done.error_code, done.retry_count) == (AgentRunStatus.FAILED, "SUBSCRIPTION_INACTIVE", 0)
    assert chat_server.requests == []


def test_a_try_whose_worker_was_lost_counts_as_a_retry(app, start_review, run_jobs):
    run = start_review().json["data"]
    with app.app_context():  # a worker took the run and died mid-review
        db.session.execute(db.update(AgentRun).where(AgentRun.id == uuid.UUID(run["id"]))
                           .values(status=AgentRunStatus.RUNNING))
        db.session.commit()

    done = work_until_finished(app, run_jobs, run["id"])

    assert (done.status, done.retry_count, done.error_code) == (AgentRunStatus.COMPLETED, 1, "WORKER_LOST")


class SlowReader(Agent):
    """Reads for six minutes of the app's clock, looking for a cancel between chapters."""

    name = "test.slow"

    def review(self, ctx, content):
        for _ in range(6):
            current_state().clock.advance(60)
            ctx.check_cancelled()
        return ReviewReport()


def test_a_run_still_working_five_minutes_after_it_started_is_canceled(app, start_review, run_jobs):
    current_state(app).registry.agents["test.slow"] = SlowReader
    run = start_review(agentType="test.slow").json["data"]

    done = work_until_finished(app, run_jobs, run["id"])

    assert (done.status, done.error_code) == (AgentRunStatus.CANCELED, "AGENT_RUN_TIMEOUT")
    assert done.duration_seconds == 300


def test_the_sweep_cancels_a_run_left_unfinished_past_five_minutes(app, chat_server, clock, start_review, run_jobs):
    chat_server.reply((503, {"error": {"message": "busy"}}))
    run = start_review(model=MODEL).json["data"]
    run_jobs()  # the first try fails; its retry waits for its backoff
    assert agent_run(app, run["id"]).status == AgentRunStatus.QUEUED

    with app.app_context():
        assert sweep()["canceled"] == 0
        clock.advance(301)
        assert sweep()["canceled"] == 1
    done = agent_run(app, run["id"])
    assert (done.status, done.error_code) == (AgentRunStatus.CANCELED, "AGENT_RUN_TIMEOUT")
    run_jobs(scheduled=True)  # the retry's job finds the run canceled and does nothing
    assert agent_run(app, run["id"]).status == AgentRunStatus.CANCELED


def test_a_lost_job_of_a_queued_run_is_queued_again(app, clock, start_review, run_jobs, inkwright_redis_url):
    import redis

    run = start_review().json["data"]
    redis.Redis.from_url(inkwright_redis_url).flushdb()  # Redis lost the queue
    with app.app_context():
        assert sweep()["requeued"] == 0, "a minute's grace: a busy queue may still hold it"
        clock.advance(61)
        assert sweep()["requeued"] == 1
    assert run_jobs() == 1 and agent_run(app, run["id"]).status == AgentRunStatus.COMPLETED


def test_priorities_go_to_their_queues_and_urgent_runs_are_taken_first(app, start_review, run_jobs):
    low = start_review(priority=2).json["data"]
    normal = start_review(priority=5).json["data"]
    urgent = start_review(priority=9).json["data"]
    with app.app_context():
        state = current_state()
        connection = state.redis.client()
        counts = {name: Queue(name, connection=connection).count
                  for name in (f"{state.queue_name}-high", state.queue_name, f"{state.queue_name}-low")}
    assert list(counts.values()) == [1, 1, 1]

    assert run_jobs(max_jobs=1) == 1
    assert [agent_run(app, r["id"]).status for r in (urgent, normal, low)] == [
        AgentRunStatus.COMPLETED, AgentRunStatus.QUEUED, AgentRunStatus.QUEUED]
    run_jobs(max_jobs=1)
    assert agent_run(app, normal["id"]).status == AgentRunStatus.COMPLETED
    assert agent_run(app, low["id"]).status == AgentRunStatus.QUEUED
