"""The reconciler (app/engine/reconciler.py), one pass at a time: what it does with a step
whose worker stopped heartbeating, a queued step whose RQ job is gone, a run left hanging,
and stale step-cache claims, and what it leaves alone. Passes run in the test (directly,
as the periodic job, and as ``flask inkwright reconcile``); the jobs they enqueue then run
on a real RQ worker. The worker deaths themselves are in test_durability.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from rq.job import Job
from sqlalchemy import update

from app.engine import job_beats
from app.engine.reconciler import Reconciler
from app.extensions import db
from app.models import AttemptOutcome, CreditHold, Run, RunStep, StepCacheEntry, utcnow
from app.runtime import current_state, repositories
from app.statuses import RunStatus, StepStatus
from tests.engine.worker_processes import TIMINGS, fast_engine_config

STALE_AFTER = TIMINGS["STEP_STALE_AFTER"]


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return fast_engine_config(inkwright_config, tmp_path)


def workflow(name: str, max_attempts: int = 1) -> str:
    return f"""
name: {name}
version: "1"
inputs:
  topic: {{type: string, required: true}}
steps:
  - id: only
    skill: test.echo
    retry: {{max_attempts: {max_attempts}, backoff: 0}}
    with: {{text: "{{{{ inputs.topic }}}}"}}
  - id: after
    skill: test.echo
    with: {{text: "{{{{ steps.only.output.text }}}} again"}}
"""


@pytest.fixture
def reconcile(app):
    """One reconciler pass, as the periodic job and the CLI make it; returns its report."""
    def run_pass():
        with app.app_context():
            return Reconciler(current_state(), stale_after=STALE_AFTER).run()
    return run_pass


@pytest.fixture
def redis_jobs(app):
    """Ask RQ about a job id: ``redis_jobs(job_id) -> status or None``; ``.delete(job_id)``."""
    class Jobs:
        def connection(self):
            with app.app_context():
                return current_state().redis.client()

        def __call__(self, job_id):
            connection = self.connection()
            return Job(job_id, connection=connection).get_status(refresh=True) \
                if Job.exists(job_id, connection=connection) else None

        def delete(self, job_id):
            Job.fetch(job_id, connection=self.connection()).delete()
    return Jobs()


def start(studio, max_attempts: int = 1):
    return studio.start(workflow(f"reconciled-{max_attempts}", max_attempts), topic=f"t-{uuid.uuid4().hex[:6]}")


def backdate(app, model, row_id, seconds: float) -> None:
    """Make a row look untouched for ``seconds`` (older than the reconciler's grace)."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id)
                           .values(updated_at=utcnow() - timedelta(seconds=seconds)))
        db.session.commit()


def claimed_by_a_worker(app, studio, run_id, heartbeat_seconds_ago: float) -> RunStep:
    """Do what a worker does when it takes the step ``only`` — claim it, starting an attempt
    (whose row is written when it ends) — as a worker that last answered
    ``heartbeat_seconds_ago``; its RQ job left the queue."""
    with app.app_context():
        repos = repositories(studio.account.tenant_id)
        step = repos.run_steps.by_key(run_id, "only")
        beat = utcnow() - timedelta(seconds=heartbeat_seconds_ago)
        with repos.transaction():
            assert repos.run_steps.move(step, StepStatus.QUEUED, of_job=step.job_id, status=StepStatus.RUNNING,
                                        worker_name="worker-gone", heartbeat_at=beat, started_at=beat,
                                        attempt_started_at=beat, attempt=step.attempt + 1)
        Job.fetch(step.job_id, connection=current_state().redis.client()).delete()
        db.session.expunge_all()
        return step


def test_a_running_step_whose_worker_stopped_heartbeating_is_queued_again_while_attempts_remain(
        app, studio, reconcile, redis_jobs, run_jobs):
    run = start(studio, max_attempts=2)
    lost = claimed_by_a_worker(app, studio, run.id, heartbeat_seconds_ago=STALE_AFTER + 5)

    report = reconcile()

    assert report.requeued_lost_workers == ["only"]
    assert report.crashed == []
    step = studio.steps(run.id)["only"]
    assert step.status == StepStatus.QUEUED
    assert step.job_id != lost.job_id
    assert redis_jobs(step.job_id) == "queued"
    assert step.error["code"] == "WORKER_LOST"
    (attempt,) = studio.attempts(run.id)["only"]
    assert attempt.outcome == AttemptOutcome.CRASHED
    assert attempt.error["code"] == "WORKER_LOST"
    assert studio.run(run.id).status == RunStatus.RUNNING

    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [a.outcome for a in studio.attempts(run.id)["only"]] == [AttemptOutcome.CRASHED,
                                                                    AttemptOutcome.COMPLETED]


def test_a_running_step_out_of_attempts_fails_with_worker_lost_and_its_run_ends_crashed(
        app, studio, reconcile, run_jobs):
    run = start(studio, max_attempts=1)
    claimed_by_a_worker(app, studio, run.id, heartbeat_seconds_ago=STALE_AFTER + 5)

    report = reconcile()

    assert report.crashed == ["only"]
    assert report.requeued_lost_workers == []
    ended = studio.run(run.id)
    assert ended.status == RunStatus.CRASHED
    assert ended.error["code"] == "WORKER_LOST" and ended.error["failedStepId"] == "only"
    assert ended.completed_at is not None
    steps = studio.steps(run.id)
    assert steps["only"].status == StepStatus.FAILED
    assert steps["only"].error["code"] == "WORKER_LOST"
    assert steps["after"].status == StepStatus.SKIPPED
    assert [a.outcome for a in studio.attempts(run.id)["only"]] == [AttemptOutcome.CRASHED]
    assert studio.queued_jobs() == 0
    assert run_jobs() == 0
    assert reconcile().as_dict() == {"requeuedLostWorkers": [], "crashed": [], "requeuedLostJobs": [],
                                     "replannedRuns": [], "droppedCacheClaims": 0, "requeuedPolls": [],
                                     "timedOutGenerations": [], "abandonedGenerations": [],
                                     "releasedCreditHolds": 0}


def test_a_running_step_whose_worker_still_heartbeats_is_left_alone(app, studio, reconcile):
    run = start(studio, max_attempts=2)
    claimed_by_a_worker(app, studio, run.id, heartbeat_seconds_ago=0.2)

    report = reconcile()

    assert report.requeued_lost_workers == [] and report.crashed == []
    step = studio.steps(run.id)["only"]
    assert (step.status, step.attempt, step.worker_name) == (StepStatus.RUNNING, 1, "worker-gone")
    assert studio.attempts(run.id)["only"] == []  # its row is written when the attempt ends


def test_a_step_whose_database_stamp_is_late_but_whose_worker_beats_it_in_redis_is_alive(
        app, studio, reconcile):
    """The database was away: the step's worker is alive and beats its job in Redis, but its
    stamp in the database is stale. Only once the Redis beats stop too is the step taken for a
    dead worker's."""
    run = start(studio, max_attempts=2)
    step = claimed_by_a_worker(app, studio, run.id, heartbeat_seconds_ago=STALE_AFTER + 5)
    with app.app_context():
        client = current_state().redis.client()
    job_beats.beat(client, [step.job_id], at=time.time() - STALE_AFTER / 2)

    assert reconcile().requeued_lost_workers == []
    assert studio.steps(run.id)["only"].status == StepStatus.RUNNING

    job_beats.beat(client, [step.job_id], at=time.time() - STALE_AFTER - 1)  # its worker fell silent
    assert reconcile().requeued_lost_workers == ["only"]


def test_a_pass_drops_job_beats_older_than_a_day(app, reconcile):
    with app.app_context():
        client = current_state().redis.client()
    job_beats.beat(client, ["long-over"], at=time.time() - job_beats.FORGET_AFTER_SECONDS - 60)
    job_beats.beat(client, ["recent"], at=time.time() - 60)

    reconcile()

    assert client.zscore(job_beats.BEATING_JOBS, "long-over") is None
    assert client.zscore(job_beats.BEATING_JOBS, "recent") is not None


def test_a_queued_step_whose_job_vanished_from_redis_gets_a_new_job(app, studio, reconcile, redis_jobs, run_jobs):
    run = start(studio)
    lost = studio.steps(run.id)["only"]
    redis_jobs.delete(lost.job_id)
    # Just queued: its job may be on the way (it is enqueued after the commit), so it waits.
    assert reconcile().requeued_lost_jobs == []
    backdate(app, RunStep, lost.id, seconds=5)

    report = reconcile()

    assert report.requeued_lost_jobs == ["only"]
    step = studio.steps(run.id)["only"]
    assert step.status == StepStatus.QUEUED
    assert step.job_id != lost.job_id
    assert redis_jobs(step.job_id) == "queued"
    assert studio.queued_jobs() == 1
    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [len(rows) for rows in studio.attempts(run.id).values()] == [1, 1]


def test_a_queued_step_whose_job_is_still_in_the_queue_is_left_alone(app, studio, reconcile, redis_jobs):
    run = start(studio)
    queued = studio.steps(run.id)["only"]
    backdate(app, RunStep, queued.id, seconds=5)

    report = reconcile()

    assert report.requeued_lost_jobs == []
    assert studio.steps(run.id)["only"].job_id == queued.job_id
    assert redis_jobs(queued.job_id) == "queued"
    assert studio.queued_jobs() == 1


def test_a_run_left_queued_before_its_steps_were_planned_is_planned_again(app, studio, reconcile, run_jobs):
    run = start(studio)
    # As if the process died between creating the run and planning its first steps.
    with app.app_context():
        step = repositories(studio.account.tenant_id).run_steps.by_key(run.id, "only")
        current_state().queue().remove(step.job_id)
        db.session.execute(update(RunStep).where(RunStep.id == step.id)
                           .values(status=StepStatus.PENDING, job_id=None))
        db.session.execute(update(Run).where(Run.id == run.id).values(status=RunStatus.QUEUED, started_at=None))
        db.session.commit()
    backdate(app, Run, run.id, seconds=5)

    report = reconcile()

    assert report.replanned_runs == [str(run.id)]
    assert studio.run(run.id).status == RunStatus.RUNNING
    assert studio.steps(run.id)["only"].status == StepStatus.QUEUED
    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [len(rows) for rows in studio.attempts(run.id).values()] == [1, 1]


def test_stale_step_cache_claims_are_dropped_and_fresh_ones_and_ready_entries_kept(app, user, reconcile):
    now = utcnow()
    ages = {"stale-claim": (False, STALE_AFTER + 5), "fresh-claim": (False, 0.1), "old-ready": (True, 3600)}
    with app.app_context():
        repos = repositories(user.tenant_id)
        with repos.transaction():
            for key, (ready, age) in ages.items():
                repos.step_cache.add(StepCacheEntry(
                    cache_key=key, workflow_name="w", step_id="s", input_hash="h" * 64, scope="global",
                    ready=ready, owner_step_id=None if ready else uuid.uuid4(),
                    claimed_at=now - timedelta(seconds=age), data={"text": "kept"} if ready else None))

    assert reconcile().dropped_cache_claims == 1

    with app.app_context():
        left = {row.cache_key for row in repositories(user.tenant_id).step_cache.list()}
    assert left == {"fresh-claim", "old-ready"}


def test_an_old_claim_whose_step_is_still_at_work_is_kept(app, studio, reconcile):
    """A step computing for longer than the staleness limit (a minute-long chapter) keeps its
    claim while its worker heartbeats: no identical step computes it a second time."""
    run = start(studio, max_attempts=2)
    working = claimed_by_a_worker(app, studio, run.id, heartbeat_seconds_ago=0.1)
    gone = claimed_by_a_worker(app, studio, start(studio, max_attempts=2).id, heartbeat_seconds_ago=STALE_AFTER + 5)
    claimed = utcnow() - timedelta(seconds=STALE_AFTER + 5)
    with app.app_context():
        repos = repositories(studio.account.tenant_id)
        with repos.transaction():
            for key, owner in (("at-work", working.id), ("owner-gone", gone.id)):
                repos.step_cache.add(StepCacheEntry(cache_key=key, workflow_name="w", step_id="s",
                                                    input_hash="h" * 64, scope="global", ready=False,
                                                    owner_step_id=owner, claimed_at=claimed))

    with app.app_context():
        cache = repositories(studio.account.tenant_id).step_cache
        since = utcnow() - timedelta(seconds=STALE_AFTER)
        # An identical step asks the same when it finds the claim: wait for it, or take it over.
        assert [cache.owner_at_work(cache.find(key), since) for key in ("at-work", "owner-gone")] == [True, False]
        db.session.rollback()

    assert reconcile().dropped_cache_claims == 1

    with app.app_context():
        left = {row.cache_key for row in repositories(studio.account.tenant_id).step_cache.list()}
    assert left == {"at-work"}


def test_the_periodic_job_makes_a_pass_and_returns_its_report(app, studio, redis_jobs, run_jobs):
    run = start(studio)
    lost = studio.steps(run.id)["only"]
    redis_jobs.delete(lost.job_id)
    backdate(app, RunStep, lost.id, seconds=5)
    with app.app_context():
        job = current_state().enqueue("app.jobs.reconcile")

    assert run_jobs(max_jobs=1) == 1
    assert job.latest_result().return_value["requeuedLostJobs"] == ["only"]
    assert studio.steps(run.id)["only"].job_id != lost.job_id
    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED


def test_flask_inkwright_reconcile_prints_its_report(app, studio, redis_jobs):
    run = start(studio)
    lost = studio.steps(run.id)["only"]
    redis_jobs.delete(lost.job_id)
    backdate(app, RunStep, lost.id, seconds=5)

    result = app.test_cli_runner().invoke(args=["inkwright", "reconcile"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "requeuedLostWorkers: []", "crashed: []", "requeuedLostJobs: ['only']", "replannedRuns: []",
        "droppedCacheClaims: 0", "requeuedPolls: []", "timedOutGenerations: []", "abandonedGenerations: []",
        "releasedCreditHolds: 0"]
    step = studio.steps(run.id)["only"]
    assert step.job_id != lost.job_id and redis_jobs(step.job_id) == "queued"


def test_a_credit_reservation_whose_worker_died_is_given_back_once_it_expires(app, user, reconcile):
    with app.app_context():
        repos = repositories()
        repos.credit_accounts.account_for(user.user.id)
        lost = repos.credit_accounts.reserve(user.user.id, 700, ttl_seconds=60)
        repos.credit_accounts.reserve(user.user.id, 300, ttl_seconds=60)
        db.session.execute(update(CreditHold).where(CreditHold.id == lost.id)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    assert reconcile().released_credit_holds == 1
    with app.app_context():
        account = repositories().credit_accounts.account_for(user.user.id)
        assert (account.tokens_reserved, account.tokens_used_this_period) == (300, 0)
        assert [hold.tokens for hold in repositories().credit_accounts.holds_of(user.user.id)] == [300]
    assert reconcile().released_credit_holds == 0


def queue_front(app) -> str:
    with app.app_context():
        return current_state().queue().job_ids[0]


def test_a_lost_workers_step_is_queued_ahead_of_100_queued_jobs(app, studio, reconcile, run_jobs):
    run = start(studio, max_attempts=2)
    claimed_by_a_worker(app, studio, run.id, heartbeat_seconds_ago=STALE_AFTER + 5)
    for _ in range(100):
        start(studio)  # a busy queue: each run queues its first step

    assert reconcile().requeued_lost_workers == ["only"]

    recovered = studio.steps(run.id)["only"]
    assert studio.queued_jobs() == 101 and queue_front(app) == recovered.job_id
    run_jobs(max_jobs=1)  # the next job any worker takes is the recovery
    assert studio.steps(run.id)["only"].status == StepStatus.COMPLETED


def test_a_queued_step_whose_job_vanished_gets_its_new_job_at_the_front(app, studio, reconcile, redis_jobs):
    run = start(studio)
    lost = studio.steps(run.id)["only"]
    redis_jobs.delete(lost.job_id)
    backdate(app, RunStep, lost.id, seconds=5)
    for _ in range(20):
        start(studio)

    assert reconcile().requeued_lost_jobs == ["only"]
    assert queue_front(app) == studio.steps(run.id)["only"].job_id
