"""app/repositories/generation_jobs.py: a step's jobs by request, by step and across tenants
for the reconciler, within the tenant scope; and GenerationJob's own lifecycle."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.statuses import RunStatus, StepStatus
from app.errors import IllegalTransitionError, RepositoryError
from app.extensions import db
from app.models import GenerationJob, GenerationStatus, Run, RunStep, TriggerType, utcnow
from app.repositories.generation_jobs import GenerationJobLocator
from app.runtime import repositories


def run_with_step(app, tenant_id, run_status=RunStatus.RUNNING, step_status=StepStatus.WAITING):
    """A run with one step, committed in the tenant; returns (run id, step id)."""
    with app.app_context():
        repos = repositories().for_tenant(tenant_id)
        run_id = uuid.uuid4()
        with repos.transaction():
            repos.runs.add(Run(id=run_id, workflow_name="pictures", workflow_version="1", definition={}, inputs={},
                               trigger_type=TriggerType.INITIAL, status=run_status, root_run_id=run_id))
            step = repos.run_steps.add(RunStep(run_id=run_id, step_key="picture", step_id="picture",
                                               skill="media.image", status=step_status))
        return run_id, step.id


def add_job(app, tenant_id, run_id, step_id, request_hash="a" * 64, **values):
    with app.app_context():
        repos = repositories().for_tenant(tenant_id)
        with repos.transaction():
            job = repos.generation_jobs.add(GenerationJob(
                run_id=run_id, run_step_id=step_id, request_hash=request_hash, provider_id="offline",
                model_name="offline:image", provider_job_id=f"offline-{uuid.uuid4().hex}", media_type="image",
                input_params={"prompt": "a gull"}, started_at=utcnow(), **values))
        return job.id


def test_a_steps_job_is_found_by_its_request_hash_and_only_in_its_tenant(app, two_tenants):
    ada, bob = two_tenants
    run_id, step_id = run_with_step(app, ada.tenant_id)
    job_id = add_job(app, ada.tenant_id, run_id, step_id, request_hash="f" * 64)

    with app.app_context():
        mine, theirs = (repositories().for_tenant(t).generation_jobs for t in (ada.tenant_id, bob.tenant_id))
        assert mine.for_request(step_id, "f" * 64).id == job_id
        assert mine.for_request(step_id, "e" * 64) is None
        assert mine.find(job_id).status == GenerationStatus.PENDING
        assert theirs.for_request(step_id, "f" * 64) is None
        assert theirs.find(job_id) is None and theirs.of_steps([step_id]) == {step_id: []}
        assert mine.find("not-an-id") is None


def test_a_step_cannot_hold_two_jobs_for_the_same_request(app, two_tenants):
    ada, _bob = two_tenants
    run_id, step_id = run_with_step(app, ada.tenant_id)
    add_job(app, ada.tenant_id, run_id, step_id)

    with pytest.raises(RepositoryError):
        add_job(app, ada.tenant_id, run_id, step_id)
    add_job(app, ada.tenant_id, run_id, step_id, request_hash="b" * 64)  # another request is fine


def test_of_steps_lists_each_steps_jobs_oldest_first(app, two_tenants):
    ada, _bob = two_tenants
    run_id, step_id = run_with_step(app, ada.tenant_id)
    _other_run, quiet_step = run_with_step(app, ada.tenant_id)
    first = add_job(app, ada.tenant_id, run_id, step_id, request_hash="1" * 64)
    second = add_job(app, ada.tenant_id, run_id, step_id, request_hash="2" * 64)

    with app.app_context():
        found = repositories().for_tenant(ada.tenant_id).generation_jobs.of_steps([step_id, quiet_step])
    assert [job.id for job in found[step_id]] == [first, second]
    assert found[quiet_step] == []


def test_the_locator_lists_unfinished_jobs_of_every_tenant_with_their_step_and_run(app, two_tenants):
    ada, bob = two_tenants
    ada_run, ada_step = run_with_step(app, ada.tenant_id)
    bob_run, bob_step = run_with_step(app, bob.tenant_id, run_status=RunStatus.CANCELLED,
                                      step_status=StepStatus.SKIPPED)
    due_first = add_job(app, bob.tenant_id, bob_run, bob_step, next_poll_at=utcnow() - timedelta(seconds=9))
    due_later = add_job(app, ada.tenant_id, ada_run, ada_step, status=GenerationStatus.PROCESSING,
                        next_poll_at=utcnow())
    add_job(app, ada.tenant_id, ada_run, ada_step, request_hash="c" * 64, status=GenerationStatus.COMPLETED)

    with app.app_context():
        found = repositories().get(GenerationJobLocator).unfinished()
        assert [(job.id, step, run) for job, step, run in found] == [
            (due_first, StepStatus.SKIPPED, RunStatus.CANCELLED), (due_later, StepStatus.WAITING, RunStatus.RUNNING)]
        assert repositories().get(GenerationJobLocator).find(due_later).tenant_id == ada.tenant_id


def test_a_job_moves_only_along_its_lifecycle(app, two_tenants):
    ada, _bob = two_tenants
    run_id, step_id = run_with_step(app, ada.tenant_id)
    job_id = add_job(app, ada.tenant_id, run_id, step_id)

    with app.app_context():
        repos = repositories().for_tenant(ada.tenant_id)
        job = repos.generation_jobs.find(job_id)
        job.move_to(GenerationStatus.PROCESSING)
        job.move_to(GenerationStatus.COMPLETED)
        for later in GenerationStatus:
            with pytest.raises(IllegalTransitionError) as raised:
                job.move_to(later)
            assert raised.value.details == {"entity": "GenerationJob", "from": "completed", "to": later.value}
        with pytest.raises(IllegalTransitionError):
            GenerationJob(status=GenerationStatus.PROCESSING).move_to(GenerationStatus.PENDING)
        db.session.rollback()
