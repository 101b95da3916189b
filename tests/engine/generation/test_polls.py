"""Polls are durable: duplicate and lost polls, re-waiting, Redis flushed, worker processes, and
cancelling a waiting run (app/engine/generation/poller.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis

from app.engine.executor import dispatch
from app.engine.generation.poller import GenerationPoller, Observation, Seen
from app.engine.scheduler import scheduler_for
from app.extensions import db
from app.models import Artifact, AttemptOutcome, GenerationStatus, UsageStatus, utcnow
from app.runtime import current_state
from app.statuses import RunStatus, StepStatus
from tests.engine.generation.scenes import (
    MEDIA_DELAY,
    drive,
    finished,
    image_workflow,
    jobs_of,
    poll,
    scheduled_polls,
    set_job,
    studio_repos,
    usage_of,
    waiting_step,
    work_once,
)
from tests.engine.worker_processes import TIMINGS, wait_until

pytestmark = pytest.mark.timeout(60)

# Durability: duplicate polls, lost polls, re-waiting -----------------------------------


def test_a_poll_the_job_does_not_expect_and_a_repeated_poll_do_nothing(app, studio, run_jobs, darkroom):
    # A backend done at once (hold 0): the first expected poll finds the result, no waiting.
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow("repeat", model="darkroom:photo",
                                                                        params="{hold: 0}"), subject="ice")

    assert poll(app, job.id, "generation-somebody-else") == {"outcome": "superseded"}
    assert poll(app, job.id, job.poll_job_id)["outcome"] == "completed"
    assert poll(app, job.id, job.poll_job_id) == {"outcome": "step_not_waiting"}  # a duplicate of the same poll

    [done] = jobs_of(app, run.id)
    assert (done.status, done.attempts) == (GenerationStatus.COMPLETED, 1)
    assert studio.steps(run.id)["picture"].status == StepStatus.QUEUED
    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED
    with app.app_context():
        assert db.session.query(Artifact).filter(Artifact.run_id == run.id).count() == 1


def test_polls_racing_on_one_observation_record_it_once(app, studio, run_jobs, darkroom):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow("racing", model="darkroom:photo",
                                                                        params="{hold: -1}"), subject="ash")
    with app.app_context():
        poller = GenerationPoller(current_state(), dispatch)
        repos = studio_repos(studio)
        loaded = repos.generation_jobs.find(job.id)
        seen = Seen(loaded.attempts, loaded.poll_job_id)  # both polls read the job as it was
        first = poller.settle(repos, loaded, seen, Observation(GenerationStatus.PROCESSING))
        second = poller.settle(repos, loaded, seen, Observation(GenerationStatus.PROCESSING))

    [after] = jobs_of(app, run.id)
    assert (first, second) == ("processing", "duplicate")
    assert (after.status, after.attempts) == (GenerationStatus.PROCESSING, 1)
    assert after.poll_job_id != job.poll_job_id and scheduled_polls(app).count(after.poll_job_id) == 1


def test_an_attempt_retried_before_its_job_finished_waits_again_for_the_same_job(app, studio, run_jobs, darkroom):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow("again", model="darkroom:photo",
                                                                        params="{hold: 0.5}"), subject="salt")
    # As when the attempt's worker died after submitting, before it could wait: the
    # reconciler queues the step again while the job is still at work.
    with app.app_context():
        repos = studio_repos(studio)
        with repos.transaction(), repos.runs.locked(run.id) as locked:
            scheduler = scheduler_for(repos, locked, current_state())
            scheduler.enqueue(repos.run_steps.by_key(run.id, "picture"), StepStatus.WAITING)
        dispatch(current_state(), scheduler.after)
    run_jobs()

    [again] = jobs_of(app, run.id)  # no second submission
    assert again.id == job.id and again.poll_job_id != job.poll_job_id
    assert [a.outcome for a in studio.attempts(run.id)["picture"]] == [AttemptOutcome.WAITING] * 2
    assert poll(app, job.id, job.poll_job_id) == {"outcome": "superseded"}  # the first wait's poll

    drive(app, finished(studio, run.id))
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [a.outcome for a in studio.attempts(run.id)["picture"]] == [
        AttemptOutcome.WAITING, AttemptOutcome.WAITING, AttemptOutcome.COMPLETED]


def test_redis_flushed_while_waiting_the_reconciler_polls_again_and_the_run_completes(
        app, studio, run_jobs, reconcile):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow("flushed"), subject="tide")
    current_state(app).redis.client().flushdb()  # the scheduled poll is gone with everything else

    assert reconcile().requeued_polls == []  # not overdue yet: its poll may just be late
    assert scheduled_polls(app) == [] and studio.queued_jobs() == 0
    work_once(app)
    assert studio.steps(run.id)["picture"].status == StepStatus.WAITING  # nothing polls it

    set_job(app, job.id, next_poll_at=utcnow() - timedelta(seconds=TIMINGS["STEP_STALE_AFTER"] + 1))
    report = reconcile()
    assert report.requeued_polls == [str(job.id)]
    assert report.as_dict()["requeuedPolls"] == [str(job.id)]
    [requeued] = jobs_of(app, run.id)
    assert requeued.poll_job_id != job.poll_job_id

    drive(app, finished(studio, run.id))
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert jobs_of(app, run.id)[0].status == GenerationStatus.COMPLETED


def test_a_job_past_its_timeout_whose_poll_was_lost_is_timed_out_by_the_reconciler(
        app, studio, run_jobs, reconcile, darkroom):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow(
        "lost-and-late", model="darkroom:photo", params="{hold: -1}", timeout="30"), subject="mist")
    current_state(app).redis.client().flushdb()
    set_job(app, job.id, started_at=utcnow() - timedelta(seconds=30 + TIMINGS["STEP_STALE_AFTER"] + 1))

    report = reconcile()

    assert (report.timed_out_generations, report.requeued_polls) == ([str(job.id)], [])
    assert studio.steps(run.id)["picture"].status == StepStatus.QUEUED
    run_jobs()
    step = studio.steps(run.id)["picture"]
    assert (step.status, step.error["code"]) == (StepStatus.FAILED, "GENERATION_TIMED_OUT")
    assert jobs_of(app, run.id)[0].status == GenerationStatus.TIMED_OUT
    assert [(u.status, u.error_code) for u in usage_of(app, run.id)] == [(UsageStatus.TIMEOUT, "GENERATION_TIMED_OUT")]


def test_polls_are_due_and_jobs_time_out_by_the_apps_clock(app, studio, run_jobs, darkroom, clock):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow(
        "deadline", model="darkroom:photo", params="{hold: -1}", timeout="30"), subject="fog")
    assert job.next_poll_at == clock.now() + timedelta(seconds=0.1)  # the interval darkroom asks for

    clock.advance(29.95)
    assert poll(app, job.id, job.poll_job_id)["outcome"] == "processing"
    [polled] = jobs_of(app, run.id)
    assert polled.next_poll_at == clock.now() + timedelta(seconds=0.05)  # never past the deadline

    clock.advance(0.05)
    assert poll(app, polled.id, polled.poll_job_id)["outcome"] == "timed_out"
    run_jobs()
    step = studio.steps(run.id)["picture"]
    assert (step.status, step.error["code"]) == (StepStatus.FAILED, "GENERATION_TIMED_OUT")
    assert [(u.status, u.response_time_ms) for u in usage_of(app, run.id)] == [(UsageStatus.TIMEOUT, 30_000)]


def test_with_worker_processes_waiting_steps_complete_and_survive_redis_being_flushed(app, studio, workers,
                                                                                      inkwright_redis_url):
    workers.start("simple")
    workers.ready(1)
    waiting = lambda run_id: studio.steps(run_id)["picture"].status == StepStatus.WAITING  # noqa: E731

    run = studio.start(image_workflow("processes"), subject="the harbour")
    wait_until(lambda: waiting(run.id), 15, "the step waits", interval=0.01, explain=workers.report)
    went_waiting = time.monotonic()
    wait_until(finished(studio, run.id), 15, "the run ends", interval=0.01, explain=workers.report)
    latency = time.monotonic() - went_waiting
    assert studio.run(run.id).status == RunStatus.COMPLETED, workers.report()
    # The provider takes MEDIA_DELAY; RQ's scheduler looks for due polls once a second.
    assert MEDIA_DELAY <= latency < MEDIA_DELAY + 3, latency

    flushed = studio.start(image_workflow("processes"), subject="the flood")
    wait_until(lambda: waiting(flushed.id), 15, "the step waits", interval=0.01, explain=workers.report)
    client = redis.Redis.from_url(inkwright_redis_url)
    client.flushdb()  # the scheduled poll is lost; the worker's reconciler finds it overdue
    client.close()
    wait_until(finished(studio, flushed.id), 20, "the flushed run ends", explain=workers.report)
    assert studio.run(flushed.id).status == RunStatus.COMPLETED, workers.report()
    [job] = jobs_of(app, flushed.id)
    assert job.status == GenerationStatus.COMPLETED
    print(f"\nwaiting to completed with a {MEDIA_DELAY} s generation: {latency:.2f} s")


# Cancelling ------------------------------------------------------------------------------
def test_cancelling_a_waiting_run_stops_polling(app, studio, run_jobs, darkroom):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow(
        "cancelled", model="darkroom:photo", params="{hold: -1}"), subject="wind")

    assert studio.call(lambda service: service.cancel(run.id)).status == RunStatus.CANCELLED
    assert studio.steps(run.id)["picture"].status == StepStatus.SKIPPED
    drive(app, lambda: not scheduled_polls(app) and studio.queued_jobs() == 0)

    [given_up] = jobs_of(app, run.id)
    assert (given_up.status, given_up.attempts) == (GenerationStatus.FAILED, 0)  # the provider was not asked again
    assert given_up.error_message == "Given up: the run is cancelled, so nothing waits for the result."
    assert scheduled_polls(app) == [] and studio.queued_jobs() == 0
    assert studio.run(run.id).status == RunStatus.CANCELLED


def test_the_reconciler_gives_up_the_job_of_a_run_cancelled_while_redis_was_down(
        app, studio, run_jobs, reconcile, darkroom):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow(
        "cancelled-lost", model="darkroom:photo", params="{hold: -1}"), subject="hail")
    current_state(app).redis.client().flushdb()
    studio.call(lambda service: service.cancel(run.id))

    assert reconcile().abandoned_generations == [str(job.id)]
    assert jobs_of(app, run.id)[0].status == GenerationStatus.FAILED
    assert reconcile().abandoned_generations == []
    assert [(u.status, u.error_code) for u in usage_of(app, run.id)] == [(UsageStatus.FAILED, "GENERATION_ABANDONED")]
