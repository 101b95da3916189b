"""A step waits for its generation without a worker and completes with a stored artifact; failures,
timeouts, results fetched from a URI and their price (app/engine/generation/, issue 4)."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from app.engine.generation.requests import request_hash
from app.engine.progress import RunEvents
from app.models import AttemptOutcome, GenerationStatus
from app.runtime import current_state
from app.statuses import RunStatus, StepStatus
from tests.engine.generation.scenes import (
    MEDIA_DELAY,
    PNG_MAGIC,
    artifact,
    drive,
    finished,
    finished_functions,
    image_workflow,
    jobs_of,
    scheduled_polls,
)

pytestmark = pytest.mark.timeout(60)

# The whole journey ----------------------------------------------------------------------
def test_a_step_waits_for_its_image_without_a_worker_then_completes_with_a_stored_png(app, studio, run_jobs):
    run = studio.start(image_workflow("lighthouse"), subject="the sea")

    run_jobs()
    # The step's job ran once: it submits the generation and hands over (a job the platform
    # queues on its own, a reconciler pass say, may run beside it and is named if it does).
    assert finished_functions(app).count("app.jobs.run_step") == 1, finished_functions(app)
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
    # The handover did not use the step's one try: one attempt, two executions.
    assert (steps["picture"].attempt, steps["picture"].max_attempts, steps["picture"].executions) == (1, 1, 2)

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
