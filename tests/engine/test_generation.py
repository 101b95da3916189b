"""Asynchronous generation jobs (app/engine/generation/, issue 4): a step whose skill calls
``ctx.generate_media`` waits without a worker while its job is polled, then runs again and
picks the stored artifact up; failures and timeouts go through the step's retry policy; a
lost poll is re-enqueued by the reconciler; a cancelled run stops polling. Each job is
metered like a text call: the run's budget is checked before it is submitted, and it leaves
one usage-log row when it ends (as does a submission that fails at once).

Real database, real Redis, real RQ workers running RQ's scheduler (the polls are delayed
jobs). The offline provider's ``offline:image`` draws real PNGs; a small provider defined
here (``darkroom``) covers what the offline one does not: results fetched from a URI, a
price per image, and a job that never finishes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import yaml
from PIL import Image
from rq.registry import ScheduledJobRegistry
from sqlalchemy import update

from app.engine.executor import dispatch
from app.engine.generation.poller import GenerationPoller, Observation, Seen
from app.engine.generation.requests import request_hash
from app.engine.progress import RunEvents
from app.engine.reconciler import Reconciler
from app.engine.scheduler import scheduler_for
from app.engine.service import Budget
from app.engine.states import RunStatus, StepStatus
from app.extensions import db
from app.models import (
    Artifact,
    AttemptOutcome,
    GenerationJob,
    GenerationStatus,
    KeySource,
    UsageLogEntry,
    UsageStatus,
    utcnow,
)
from app.state import current_state, repositories
from app.toolkit import MediaPoll, MediaRequest, MediaSubmission, ModelInfo, Provider
from app.workers import build_worker
from tests.engine.worker_processes import TIMINGS, fast_engine_config, wait_until, worker_pool

pytestmark = pytest.mark.timeout(60)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MEDIA_DELAY = 0.3


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return {**fast_engine_config(inkwright_config, tmp_path), "OFFLINE_MEDIA_DELAY": MEDIA_DELAY}


@pytest.fixture
def app(make_app, tmp_path, request):
    """The test app; parametrized (``indirect``) with model catalog entries, it prices by them."""
    models = getattr(request, "param", None)
    if models is None:
        return make_app()
    catalog = tmp_path / "model-catalog.yaml"
    catalog.write_text(yaml.safe_dump({"models": models}))
    return make_app(MODEL_CATALOG=str(catalog))


class Darkroom(Provider):
    """A media backend whose results are downloaded from a URI and priced per image.

    Params: ``hold`` (seconds processing; negative: forever) and ``prompt``. Like the offline
    provider it keeps no state: the job id carries the request.
    """

    name = "darkroom"
    kinds = ("image",)
    requires_key = False
    models = (ModelInfo("darkroom:photo", kind="image", price_per_item=Decimal("0.04")),)

    def submit(self, request: MediaRequest) -> MediaSubmission:
        spec = {"hold": float(request.params.get("hold", 0)), "t": time.time(),
                "prompt": str(request.params.get("prompt", ""))}
        return MediaSubmission(job_id=base64.urlsafe_b64encode(json.dumps(spec).encode()).decode(), poll_interval=0.1)

    def poll(self, job_id: str) -> MediaPoll:
        spec = json.loads(base64.urlsafe_b64decode(job_id))
        if spec["hold"] < 0 or time.time() < spec["t"] + spec["hold"]:
            return MediaPoll(status="processing")
        return MediaPoll(status="completed", result_uri=f"darkroom://prints/{job_id}", content_type="image/png")

    def fetch(self, result_uri: str) -> bytes:
        spec = json.loads(base64.urlsafe_b64decode(result_uri.rsplit("/", 1)[1]))
        shade = hashlib.sha256(spec["prompt"].encode()).digest()[:3]
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), tuple(shade)).save(buffer, format="PNG")
        return buffer.getvalue()


@pytest.fixture
def darkroom(app):
    current_state(app).registry.providers["darkroom"] = Darkroom
    return Darkroom


def image_workflow(name: str, model: str = "offline:image", retry: int = 1, params: str = "{}",
                   timeout: str = "null") -> str:
    return f"""
name: {name}
version: "1"
inputs:
  subject: {{type: string, required: true}}
steps:
  - id: picture
    skill: media.image
    retry: {{max_attempts: {retry}, backoff: 0}}
    with:
      prompt: "A lighthouse over {{{{ inputs.subject }}}}"
      width: 64
      height: 48
      model: {model}
      timeout: {timeout}
      params: {params}
  - id: caption
    skill: test.echo
    with: {{text: "{{{{ steps.picture.output.artifact_id }}}}"}}
"""


def work_once(app) -> None:
    """Run a real worker until the queue is empty, starting with RQ's scheduler (which
    enqueues the delayed jobs that are due: polls)."""
    worker = build_worker(app)
    worker.listens_for_commands = False
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


def drive(app, until, timeout: float = 20.0) -> None:
    """Run real workers until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out driving the workers"
        work_once(app)
        time.sleep(0.05)


def jobs_of(app, run_id) -> list[GenerationJob]:
    with app.app_context():
        rows = db.session.query(GenerationJob).filter(GenerationJob.run_id == run_id) \
            .order_by(GenerationJob.created_at).all()
        db.session.expunge_all()
        return rows


def artifact(app, artifact_id) -> Artifact:
    with app.app_context():
        row = db.session.get(Artifact, uuid.UUID(str(artifact_id)))
        db.session.expunge_all()
        return row


def scheduled_polls(app) -> list[str]:
    with app.app_context():
        queue = current_state().queue()
        return ScheduledJobRegistry(queue=queue).get_job_ids()


def finished(studio, run_id):
    return lambda: studio.run(run_id).status.is_terminal


# The whole journey ----------------------------------------------------------------------
def test_a_step_waits_for_its_image_without_a_worker_then_completes_with_a_stored_png(app, studio, run_jobs):
    run = studio.start(image_workflow("lighthouse"), subject="the sea")

    assert run_jobs() == 1  # the step's job: it submits the generation and hands over
    step = studio.steps(run.id)["picture"]
    [job] = jobs_of(app, run.id)
    assert (step.status, step.worker_name) == (StepStatus.WAITING, None)
    assert [(a.number, a.outcome) for a in studio.attempts(run.id)["picture"]] == [(1, AttemptOutcome.WAITING)]
    assert (job.status, job.attempts, job.provider_id, job.model_name, job.media_type) == (
        GenerationStatus.PENDING, 0, "offline", "offline:image", "image")
    assert job.input_params == {"prompt": "A lighthouse over the sea", "width": 64, "height": 48}
    assert job.request_hash == request_hash("offline:image", "image", job.input_params, 0)
    assert job.timeout_ms == 600_000 and job.poll_interval_ms == int(MEDIA_DELAY / 2 * 1000)
    assert studio.queued_jobs() == 0 and scheduled_polls(app) == [job.poll_job_id]  # nothing holds a worker

    drive(app, finished(studio, run.id))

    run = studio.run(run.id)
    steps = studio.steps(run.id)
    [job] = jobs_of(app, run.id)
    assert run.status == RunStatus.COMPLETED
    assert job.status == GenerationStatus.COMPLETED and job.attempts >= 1
    assert steps["picture"].output["artifact_id"] == str(job.artifact_id)
    assert steps["picture"].output_artifact_ids == [str(job.artifact_id)]
    assert steps["caption"].output["text"] == str(job.artifact_id)
    assert [(a.number, a.outcome) for a in studio.attempts(run.id)["picture"]] == [
        (1, AttemptOutcome.WAITING), (2, AttemptOutcome.COMPLETED)]
    assert steps["picture"].max_attempts == 2  # the handover did not use the step's one try

    stored = artifact(app, job.artifact_id)
    content = current_state(app).storage.read(stored.uri)
    assert content.startswith(PNG_MAGIC) and Image.open(io.BytesIO(content)).size == (64, 48)
    assert (stored.media_type, stored.size_bytes) == ("image/png", len(content))
    assert stored.content_hash == hashlib.sha256(content).hexdigest()
    assert stored.uri == f"local:{stored.content_hash}"
    assert (stored.run_id, stored.run_step_id, stored.skill) == (run.id, steps["picture"].id, "media.image")
    assert job.completed_at >= job.started_at
    with app.app_context():
        events = [(kind, data) for _id, kind, data in RunEvents(current_state().redis.client()).replay(run.id)]
    kinds = [kind for kind, _data in events]
    assert kinds.index("step.waiting") < kinds.index("generation.completed") < kinds.index("run.completed")
    assert dict(events)["step.waiting"] == {"step": "picture", "attempt": 1, "generationJobId": str(job.id),
                                            "pollIn": MEDIA_DELAY / 2}


def test_the_same_image_made_by_two_steps_is_stored_once(app, studio, run_jobs):
    twins = """
name: twins
version: "1"
steps:
  - id: left
    skill: media.image
    with: {prompt: a heron, width: 32, height: 32, params: {seed: 7}}
  - id: right
    skill: media.image
    with: {prompt: a heron, width: 32, height: 32, params: {seed: 7}}
"""
    run = studio.start(twins)
    drive(app, finished(studio, run.id))

    steps = studio.steps(run.id)
    left, right = (artifact(app, steps[key].output["artifact_id"]) for key in ("left", "right"))
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert left.id != right.id and (left.run_step_id, right.run_step_id) == (steps["left"].id, steps["right"].id)
    assert left.content_hash == right.content_hash and left.uri == right.uri
    files = [path for path in Path(app.config["ARTIFACT_DIR"]).rglob("*") if path.is_file()]
    assert [path.name for path in files] == [left.content_hash]


# Failures and timeouts --------------------------------------------------------------------
def test_a_failed_generation_is_retried_as_a_new_job_then_fails_the_step_with_its_code(app, studio):
    run = studio.start(image_workflow("doomed", retry=2, params="{fail: true}"), subject="fog")
    drive(app, finished(studio, run.id))

    run = studio.run(run.id)
    step = studio.steps(run.id)["picture"]
    first, second = jobs_of(app, run.id)
    assert (run.status, run.error["code"], run.error["failedStepId"]) == (RunStatus.FAILED, "GENERATION_FAILED",
                                                                          "picture")
    assert (step.status, step.error["code"]) == (StepStatus.FAILED, "GENERATION_FAILED")
    assert str(second.id) in step.error["message"] and "fail: true" in step.error["message"]
    assert [(a.number, a.outcome) for a in studio.attempts(run.id)["picture"]] == [
        (1, AttemptOutcome.WAITING), (2, AttemptOutcome.FAILED), (3, AttemptOutcome.WAITING),
        (4, AttemptOutcome.FAILED)]  # two tries, as the policy says; each a job of its own
    assert [j.status for j in (first, second)] == [GenerationStatus.FAILED] * 2
    assert first.provider_job_id != second.provider_job_id
    asked = request_hash("offline:image", "image", first.input_params, 0)
    assert asked not in (first.request_hash, second.request_hash)  # both failures reported: retired
    assert all("fail: true" in j.error_message and j.artifact_id is None for j in (first, second))
    assert studio.steps(run.id)["caption"].status == StepStatus.SKIPPED


def test_a_generation_past_its_timeout_times_out_and_fails_the_step(app, studio, darkroom):
    run = studio.start(image_workflow("slow", model="darkroom:photo", params="{hold: -1}", timeout="0.4"),
                       subject="dusk")
    drive(app, finished(studio, run.id))

    step = studio.steps(run.id)["picture"]
    [job] = jobs_of(app, run.id)
    assert (job.status, job.timeout_ms, job.artifact_id) == (GenerationStatus.TIMED_OUT, 400, None)
    assert job.error_message.startswith("It did not finish within 0.4 s") and job.attempts >= 1
    assert (step.status, step.error["code"]) == (StepStatus.FAILED, "GENERATION_TIMED_OUT")
    assert "timed out" in step.error["message"]
    assert studio.run(run.id).status == RunStatus.FAILED
    assert scheduled_polls(app) == [] and studio.queued_jobs() == 0  # nothing polls it any more


# Results fetched from a URI, and their price -----------------------------------------------------------
def test_a_result_given_as_a_uri_is_downloaded_and_its_price_counted_into_the_step_and_run(app, studio, darkroom):
    run = studio.start(image_workflow("priced", model="darkroom:photo", params="{hold: 0.2}"), subject="rain")
    drive(app, finished(studio, run.id))

    run = studio.run(run.id)
    step = studio.steps(run.id)["picture"]
    [job] = jobs_of(app, run.id)
    content = current_state(app).storage.read(artifact(app, job.artifact_id).uri)
    assert run.status == RunStatus.COMPLETED
    assert job.result_uri.startswith("darkroom://prints/") and content.startswith(PNG_MAGIC)
    assert job.cost_usd == Decimal("0.04")
    assert (step.cost_usd, run.cost_usd) == (Decimal("0.04"), Decimal("0.04"))
    assert (step.model_calls, run.model_calls) == (1, 1)



def test_a_cached_image_step_costs_nothing_again_and_counts_what_it_saved(app, studio, darkroom):
    source = """
name: cached-print
version: "1"
steps:
  - id: picture
    skill: media.image
    cache: global
    with: {prompt: an old pier, width: 32, height: 32, model: darkroom:photo}
"""
    first = studio.start(source)
    drive(app, finished(studio, first.id))
    again = studio.start(source)

    again = studio.run(again.id)  # planned straight from the cache: no job, no worker
    step = studio.steps(again.id)["picture"]
    assert again.status == RunStatus.COMPLETED and step.cache_hit
    assert step.output == studio.steps(first.id)["picture"].output and jobs_of(app, again.id) == []
    assert (again.cost_usd, again.saved_calls, again.saved_cost_usd) == (0, 1, Decimal("0.04"))

# Durability: duplicate polls, lost polls, re-waiting -----------------------------------
def waiting_step(app, studio, run_jobs, source: str, **inputs):
    """Start a run of ``source`` and run its first job: the run, its waiting step, its job."""
    run = studio.start(source, **inputs)
    assert run_jobs() == 1
    step = studio.steps(run.id)["picture"]
    assert step.status == StepStatus.WAITING
    [job] = jobs_of(app, run.id)
    return run, step, job


def poll(app, job_id, poll_job_id):
    """What ``app.jobs.poll_generation`` does when RQ runs it as the job ``poll_job_id``."""
    with app.app_context():
        return GenerationPoller(current_state(), dispatch).poll(str(job_id), poll_job_id)


def studio_repos(studio):
    return repositories(studio.account.tenant_id)


def set_job(app, job_id, **values) -> None:
    with app.app_context():
        db.session.execute(update(GenerationJob).where(GenerationJob.id == job_id).values(**values))
        db.session.commit()


@pytest.fixture
def reconcile(app):
    def run_pass():
        with app.app_context():
            return Reconciler(current_state(), stale_after=TIMINGS["STEP_STALE_AFTER"]).run()
    return run_pass


def test_a_poll_the_job_does_not_expect_and_a_repeated_poll_do_nothing(app, studio, run_jobs):
    run, step, job = waiting_step(app, studio, run_jobs, image_workflow("repeat"), subject="ice")

    assert poll(app, job.id, "generation-somebody-else") == {"outcome": "superseded"}
    time.sleep(MEDIA_DELAY + 0.05)
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
    time.sleep(MEDIA_DELAY)
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


@pytest.fixture
def workers(app, inkwright_config, tmp_path):
    """``python worker.py`` processes (each runs RQ's scheduler and the reconciler timer)."""
    with worker_pool(app, inkwright_config, tmp_path) as pool:
        pool.environment["INKWRIGHT_OFFLINE_MEDIA_DELAY"] = str(MEDIA_DELAY)
        yield pool


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


# Metering: the budget, and one usage-log row a job ------------------------------------------
def usage_of(app, run_id) -> list[UsageLogEntry]:
    with app.app_context():
        rows = db.session.query(UsageLogEntry).filter(UsageLogEntry.run_id == run_id) \
            .order_by(UsageLogEntry.created_at).all()
        db.session.expunge_all()
        return rows


def took_ms(job: GenerationJob) -> int:
    return int((job.completed_at - job.started_at).total_seconds() * 1000)


@pytest.fixture
def keyed_darkroom(app, studio):
    """Darkroom as a provider that needs a key, and the studio's user's own key for it."""
    keyed = type("KeyedDarkroom", (Darkroom,), {"requires_key": True})
    current_state(app).registry.providers["darkroom"] = keyed
    with app.app_context():
        repositories().provider_keys.add(provider="darkroom", secret="dk-mine-1234567890abcd",
                                         box=current_state().secrets, user_id=studio.account.user.id)
        db.session.commit()
    return keyed


def test_a_completed_generation_leaves_one_success_row_with_its_key_source(app, studio):
    run = studio.start(image_workflow("metered"), subject="a cove")
    drive(app, finished(studio, run.id))

    step = studio.steps(run.id)["picture"]
    [job] = jobs_of(app, run.id)
    [usage] = usage_of(app, run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert (usage.status, usage.error_code, usage.error_message) == (UsageStatus.SUCCESS, None, None)
    assert (usage.tenant_id, usage.user_id, usage.run_step_id) == (
        studio.account.tenant_id, studio.account.user.id, step.id)
    assert (usage.model_name, usage.provider, usage.key_source, usage.context_type) == (
        "offline:image", "offline", KeySource.LOCAL, "media_generation")
    assert (usage.tokens_prompt, usage.tokens_completion, usage.tokens_total, usage.credits_charged) == (0, 0, 0, 0)
    assert (usage.cost_usd, usage.cost_cents, usage.ai_response_id) == (0, 0, None)
    assert abs(usage.response_time_ms - took_ms(job)) <= 1 and usage.response_time_ms >= MEDIA_DELAY * 1000 - 50


def test_a_priced_generation_with_the_users_own_key_logs_its_cost_as_byok(app, studio, keyed_darkroom):
    run = studio.start(image_workflow("own-key", model="darkroom:photo", params="{hold: 0.1}"), subject="reeds")
    drive(app, finished(studio, run.id))

    [usage] = usage_of(app, run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert (usage.status, usage.model_name, usage.provider, usage.key_source) == (
        UsageStatus.SUCCESS, "darkroom:photo", "darkroom", KeySource.BYOK)
    assert (usage.cost_usd, usage.cost_cents, usage.credits_charged) == (Decimal("0.04"), 4, 0)
    assert studio.run(run.id).cost_usd == usage.cost_usd  # counted once, into the run


def test_each_failed_job_of_a_retried_step_leaves_one_failed_row(app, studio):
    run = studio.start(image_workflow("doomed-metered", retry=2, params="{fail: true}"), subject="smoke")
    drive(app, finished(studio, run.id))

    jobs = jobs_of(app, run.id)
    rows = usage_of(app, run.id)
    assert studio.run(run.id).status == RunStatus.FAILED and len(jobs) == 2
    assert [(r.status, r.error_code, r.cost_usd, r.key_source) for r in rows] == [
        (UsageStatus.FAILED, "GENERATION_FAILED", 0, KeySource.LOCAL)] * 2
    assert sorted(r.error_message for r in rows) == sorted(j.error_message for j in jobs)
    assert sorted(r.response_time_ms for r in rows) == pytest.approx(sorted(took_ms(j) for j in jobs), abs=1)


def test_a_timed_out_job_leaves_one_timeout_row(app, studio, darkroom):
    run = studio.start(image_workflow("slow-metered", model="darkroom:photo", params="{hold: -1}",
                                      timeout="0.4"), subject="sleet")
    drive(app, finished(studio, run.id))

    [job] = jobs_of(app, run.id)
    [usage] = usage_of(app, run.id)
    assert job.status == GenerationStatus.TIMED_OUT
    assert (usage.status, usage.error_code, usage.error_message) == (
        UsageStatus.TIMEOUT, "GENERATION_TIMED_OUT", job.error_message)
    assert (usage.cost_usd, usage.model_name) == (0, "darkroom:photo") and usage.response_time_ms >= 400


def test_a_job_given_up_with_its_cancelled_run_leaves_one_failed_row(app, studio, run_jobs, darkroom):
    run, step, _job = waiting_step(app, studio, run_jobs, image_workflow(
        "cancelled-metered", model="darkroom:photo", params="{hold: -1}"), subject="gale")
    assert usage_of(app, run.id) == []  # a job at work has logged nothing yet

    studio.call(lambda service: service.cancel(run.id))
    drive(app, lambda: not scheduled_polls(app) and studio.queued_jobs() == 0)

    [usage] = usage_of(app, run.id)
    assert (usage.status, usage.error_code, usage.run_step_id) == (UsageStatus.FAILED, "GENERATION_ABANDONED",
                                                                   step.id)
    assert usage.error_message == "Given up: the run is cancelled, so nothing waits for the result."


def test_polls_racing_to_end_a_job_log_it_once(app, studio, run_jobs, darkroom):
    run, _step, job = waiting_step(app, studio, run_jobs, image_workflow("racing-end", model="darkroom:photo",
                                                                         params="{hold: -1}"), subject="rime")
    failed = Observation(GenerationStatus.FAILED, error="The print was fogged.")
    with app.app_context():
        poller = GenerationPoller(current_state(), dispatch)
        repos = studio_repos(studio)
        loaded = repos.generation_jobs.find(job.id)
        seen = Seen(loaded.attempts, loaded.poll_job_id)
        outcomes = [poller.settle(repos, loaded, seen, failed) for _ in range(2)]
        again = poller.reconcile(repos.generation_jobs.find(job.id))  # and the reconciler, late

    assert (outcomes, again) == (["failed", "duplicate"], "unchanged")
    [usage] = usage_of(app, run.id)
    assert (usage.status, usage.error_code, usage.error_message) == (
        UsageStatus.FAILED, "GENERATION_FAILED", "The print was fogged.")


@pytest.mark.parametrize("model, params, code", [
    ("offline:image", "{size: wxh}", "PROVIDER_REQUEST_REJECTED"),  # not a size in pixels
    ("darkroom:sketch", "{}", "MODEL_NOT_PRICED"),  # darkroom prices only its photo
    ("darkroom:photo", "{}", "UNKNOWN_MODEL"),  # uninstalled after the run started
])
def test_a_submission_refused_at_once_leaves_a_failed_row_with_its_code(app, studio, run_jobs, darkroom,
                                                                        model, params, code):
    run = studio.start(image_workflow(f"refused-{code.lower()}", model=model, params=params), subject="fen")
    if code == "UNKNOWN_MODEL":
        del current_state(app).registry.providers["darkroom"]
    run_jobs()

    step = studio.steps(run.id)["picture"]
    [usage] = usage_of(app, run.id)
    assert (step.status, step.error["code"]) == (StepStatus.FAILED, code) and jobs_of(app, run.id) == []
    assert (usage.status, usage.error_code, usage.model_name, usage.provider) == (
        UsageStatus.FAILED, code, model, model.partition(":")[0])
    assert (usage.run_step_id, usage.context_type, usage.cost_usd) == (step.id, "media_generation", 0)
    assert usage.user_id == studio.account.user.id


PRICED_IMAGES = [{"name": "offline:image", "kind": "image", "price_per_item": 0.04}]


@pytest.mark.parametrize("app", [PRICED_IMAGES], indirect=True, ids=["priced"])
def test_a_generation_that_could_pass_the_budget_pauses_the_run_before_anything_is_submitted(
        app, studio, run_jobs):
    def start(service):
        entry = current_state().catalog.resolve(service.repos, "budgeted")
        return service.start(entry, {"subject": "a bay"}, budget=Budget(cost_usd=Decimal("0.03")))[0]
    studio.upload(image_workflow("budgeted"))
    run = studio.call(start)
    run_jobs()

    run, step = studio.run(run.id), studio.steps(run.id)["picture"]
    assert run.status == RunStatus.PAUSED and run.pause_reason.startswith("BUDGET_EXCEEDED")
    assert (step.status, step.attempt, step.error["code"]) == (StepStatus.PENDING, 0, "BUDGET_EXCEEDED")
    assert {key: Decimal(value) for key, value in step.error["details"].items()} == {
        "budgetCostUsd": Decimal("0.03"), "spentCostUsd": 0, "callMaxCostUsd": Decimal("0.04")}
    assert jobs_of(app, run.id) == [] and scheduled_polls(app) == []  # nothing was submitted
    [usage] = usage_of(app, run.id)
    assert (usage.status, usage.error_code, usage.context_type) == (
        UsageStatus.FAILED, "BUDGET_EXCEEDED", "media_generation")

    studio.call(lambda service: service.resume(run.id, Budget(cost_usd=Decimal("0.05"))))
    drive(app, finished(studio, run.id))
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [u.status for u in usage_of(app, run.id)] == [UsageStatus.FAILED, UsageStatus.SUCCESS]


# What the API shows ------------------------------------------------------------------------
def test_the_run_detail_lists_each_steps_generation_jobs(app, studio, api_client, darkroom):
    run = studio.start(image_workflow("shown", model="darkroom:photo", params="{hold: 0.1}"), subject="snow")
    drive(app, finished(studio, run.id))

    response = api_client.get(f"/api/runs/{run.id}")

    assert response.status_code == 200, response.json
    steps = {step["key"]: step for step in response.json["data"]["steps"]}
    [shown] = steps["picture"]["generationJobs"]
    [job] = jobs_of(app, run.id)
    assert shown["id"] == str(job.id) and shown["artifactId"] == steps["picture"]["output"]["artifact_id"]
    assert {key: shown[key] for key in ("provider", "model", "mediaType", "status", "pollIntervalMs", "error")} == {
        "provider": "darkroom", "model": "darkroom:photo", "mediaType": "image", "status": "completed",
        "pollIntervalMs": 100, "error": None}
    assert shown["attempts"] >= 1 and shown["startedAt"] and shown["completedAt"]
    assert Decimal(shown["costUsd"]) == Decimal(response.json["data"]["costUsd"]) == Decimal("0.04")
    assert steps["caption"]["generationJobs"] == []


# Pure parts ------------------------------------------------------------------------------
def test_the_request_hash_names_the_request_and_its_candidate():
    params = {"prompt": "owl", "width": 64}
    assert request_hash("offline:image", "image", params, 0) == request_hash(
        "offline:image", "image", {"width": 64, "prompt": "owl"}, 0)
    others = {request_hash("offline:image", "image", params, 1), request_hash("offline:image", "video", params, 0),
              request_hash("darkroom:photo", "image", params, 0),
              request_hash("offline:image", "image", {**params, "width": 65}, 0)}
    assert len(others) == 4 and request_hash("offline:image", "image", params, 0) not in others


def test_each_candidate_of_a_step_is_a_generation_of_its_own(app, studio):
    source = """
name: contact-sheet
version: "1"
steps:
  - id: picture
    skill: media.image
    candidates: 2
    with: {prompt: a kestrel, width: 32, height: 32}
"""
    run = studio.start(source)
    drive(app, finished(studio, run.id))

    step = studio.steps(run.id)["picture"]
    first, second = jobs_of(app, run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [c["output"]["artifact_id"] for c in step.candidates] == [str(first.artifact_id), str(second.artifact_id)]
    assert artifact(app, first.artifact_id).content_hash != artifact(app, second.artifact_id).content_hash
    assert (first.input_params.get("seed"), second.input_params["seed"]) == (None, 1)
    # The attempt waits for each candidate's job in turn; the last one completes them all.
    assert [a.outcome for a in studio.attempts(run.id)["picture"]] == [
        AttemptOutcome.WAITING, AttemptOutcome.WAITING, AttemptOutcome.COMPLETED]
