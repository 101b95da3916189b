"""Each generation job is metered like a text call: the run's budget before it is submitted, one
usage-log row when it ends; and the run detail lists each step's jobs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.engine.executor import dispatch
from app.engine.generation.poller import GenerationPoller, Observation, Seen
from app.engine.service import Budget
from app.errors import RunModelNotPricedError
from app.models import GenerationStatus, KeySource, Run, UsageStatus
from app.runtime import current_state
from app.statuses import RunStatus, StepStatus
from tests.engine.generation.scenes import (
    MEDIA_DELAY,
    drive,
    finished,
    image_workflow,
    jobs_of,
    scheduled_polls,
    studio_repos,
    took_ms,
    usage_of,
    waiting_step,
)

pytestmark = pytest.mark.timeout(60)

# Metering: the budget, and one usage-log row a job ------------------------------------------


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


def test_a_generation_model_with_no_price_is_refused_when_the_run_starts(app, studio, darkroom, row_count):
    runs_before = row_count(Run)
    with pytest.raises(RunModelNotPricedError) as refused:  # darkroom prices only its photo
        studio.start(image_workflow("refused-unpriced", model="darkroom:sketch", params="{}"), subject="fen")
    assert refused.value.code == "MODEL_NOT_PRICED"
    assert row_count(Run) == runs_before


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
