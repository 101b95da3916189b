"""Generation jobs (seed 004): asynchronous media generations a step started at a provider."""

from __future__ import annotations

import uuid
from typing import Any, Sequence

from sqlalchemy import select

from ..models import GenerationJob, GenerationStatus, Run, RunStep
from ..statuses import RunStatus, StepStatus
from .base import ScopedRepository, SystemRepository, as_uuid, operation

UNFINISHED = (GenerationStatus.PENDING, GenerationStatus.PROCESSING)


class GenerationJobRepository(ScopedRepository[GenerationJob]):
    model = GenerationJob

    @operation
    def find(self, job_id: Any) -> GenerationJob | None:
        """The job as the database has it now (another worker may have changed it)."""
        key = as_uuid(job_id)
        if key is None:
            return None
        return self.session.scalars(self.select(GenerationJob.id == key)
                                    .execution_options(populate_existing=True)).first()

    @operation
    def for_request(self, run_step_id: uuid.UUID, request_hash: str) -> GenerationJob | None:
        """The job a step started for this request, if it started one."""
        return self.session.scalars(self.select(GenerationJob.run_step_id == run_step_id,
                                                GenerationJob.request_hash == request_hash)
                                    .execution_options(populate_existing=True)).first()

    @operation
    def of_steps(self, step_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[GenerationJob]]:
        """Each step's jobs, oldest first (retired failures included: they are its history)."""
        found: dict[uuid.UUID, list[GenerationJob]] = {step_id: [] for step_id in step_ids}
        if not step_ids:
            return found
        for job in self.list(GenerationJob.run_step_id.in_(list(step_ids)),
                             order_by=[GenerationJob.created_at, GenerationJob.id]):
            found[job.run_step_id].append(job)
        return found


class GenerationJobLocator(SystemRepository[GenerationJob]):
    """Generation jobs by id alone or across tenants.

    System scope: the poll job carries only the job's id and learns the tenant from the row
    it loads; the reconciler looks at every tenant's unfinished jobs (with their steps' and
    runs' statuses) to restart polls that were lost.
    """

    model = GenerationJob

    @operation
    def find(self, job_id: Any) -> GenerationJob | None:
        key = as_uuid(job_id)
        return None if key is None else self.session.get(GenerationJob, key, populate_existing=True)

    @operation
    def unfinished(self, limit: int = 500) -> list[tuple[GenerationJob, StepStatus | None, RunStatus | None]]:
        """Jobs still pending or processing, each with its step's and its run's status
        (``None`` when gone), the ones due longest ago first."""
        statement = (select(GenerationJob, RunStep.status, Run.status)
                     .outerjoin(RunStep, RunStep.id == GenerationJob.run_step_id)
                     .outerjoin(Run, Run.id == GenerationJob.run_id)
                     .where(GenerationJob.status.in_(UNFINISHED))
                     .order_by(GenerationJob.next_poll_at, GenerationJob.id).limit(limit))
        return [(job, step_status, run_status) for job, step_status, run_status in self.session.execute(statement)]
