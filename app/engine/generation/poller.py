"""The poll's side of a generation: ask the provider, record what it says, wake the step.

``app.jobs.poll_generation`` polls one job; the reconciler has a job polled again, timed
out or given up when its poll was lost. Either way the outcome is settled under the run's
lock and only if the job is as the poll read it, so of two racing polls one does nothing.
A job that ends writes its usage-log row in that same transaction: one row per job.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from ...errors import AppError
from ...extensions import db
from ...models import Artifact, GenerationJob, GenerationStatus, RunStep
from ...repositories import Repositories
from ...repositories.generation_jobs import GenerationJobLocator
from ...repositories.runs import RunStepLocator
from ...runtime import InkwrightState, repositories
from ...statuses import StepStatus
from ...storage import StoredContent
from ..model_access import resolve_model
from ..scheduler import AfterCommit, Scheduler, scheduler_for
from .polls import PollSchedule, deadline_of, enqueue_polls, schedule_poll
from .requests import GenerationFailedError, GenerationTimedOutError
from .usage import record_ended_job

log = logging.getLogger(__name__)

#: The usage log's error code of a job given up because nothing waits for it any more.
GENERATION_ABANDONED = "GENERATION_ABANDONED"
#: The error code each way a job can end is logged with (by the outcome of its settling).
_ENDING_CODES: dict[str, str | None] = {"completed": None, "failed": GenerationFailedError.code,
                                        "timed_out": GenerationTimedOutError.code,
                                        "abandoned": GENERATION_ABANDONED}


@dataclass(frozen=True)
class Observation:
    """What one look at the provider found: still at work (``PROCESSING``, perhaps after a
    passing error), ``COMPLETED`` with the stored bytes, or ``FAILED``."""

    status: GenerationStatus
    stored: StoredContent | None = None
    content_type: str | None = None
    result_uri: str | None = None
    cost_usd: Decimal | None = None
    error: str | None = None


@dataclass(frozen=True)
class Seen:
    """The job as a poll read it before asking the provider; if the job has changed since,
    another poll got there first and this one does nothing."""

    attempts: int
    poll_job_id: str | None


class GenerationPoller:
    """Polls generation jobs, records what providers say, and wakes their steps.

    :param dispatch: enqueues a committed transaction's step jobs and publishes its progress
        (:func:`app.engine.executor.dispatch`; passed in, so that polling does not depend on
        the executor).
    """

    def __init__(self, state: InkwrightState, dispatch: Callable[[InkwrightState, AfterCommit], None]) -> None:
        self.state = state
        self.dispatch = dispatch

    def poll(self, job_id: str, poll_job_id: str | None = None) -> dict[str, Any]:
        """One poll of one job (the job ``app.jobs.poll_generation``).

        :param poll_job_id: the RQ job making this poll; a poll the row does not name is stale.
        """
        # A job's session is its own and short: what it loaded stays valid after its commits.
        db.session().expire_on_commit = False
        with repositories().transaction():
            job = repositories().get(GenerationJobLocator).find(job_id)
            if job is None or job.run_id is None or job.run_step_id is None:
                return {"outcome": "gone"}
            if poll_job_id is not None and job.poll_job_id != poll_job_id:
                return {"outcome": "superseded"}
            repos = repositories(job.tenant_id)
            run = repos.runs.get(job.run_id)
            step = repos.get(RunStepLocator).find(job.run_step_id)
        seen = Seen(job.attempts, job.poll_job_id)
        ended = run is None or run.status.is_terminal or step is None or step.status.is_terminal
        if not ended and step.status != StepStatus.WAITING:
            # Its step is queued or running again (an attempt that died before it could wait is
            # being retried): that attempt schedules the polls it needs.
            return {"outcome": "step_not_waiting"}
        observation = None if ended or job.status.is_terminal else self.observe(repos, run, job)
        outcome = self.settle(repos, job, seen, observation)
        return {"outcome": outcome, "generationJobId": str(job.id)}

    def reconcile(self, job: GenerationJob) -> str:
        """For the reconciler: time the job out, give it up, or poll it again now."""
        repos = repositories(job.tenant_id)
        return self.settle(repos, job, Seen(job.attempts, job.poll_job_id), None, requeue=True)

    def observe(self, repos: Repositories, run: Any, job: GenerationJob) -> Observation:
        """Ask the provider, and download and store a finished result; no transaction is open."""
        try:
            with repos.transaction():
                resolved = resolve_model(self.state, repos, run, job.model_name)
            polled = resolved.provider.poll(job.provider_job_id)
            if polled.status == "failed":
                return Observation(GenerationStatus.FAILED, error=polled.error or "The provider reported a failure.")
            if polled.status != "completed":
                return Observation(GenerationStatus.PROCESSING)
            content = polled.content
            if content is None:
                if not polled.result_uri:
                    return Observation(GenerationStatus.FAILED, error="The provider reported the generation "
                                                                      "complete but gave no content and no URI.")
                content = resolved.provider.fetch(polled.result_uri)
            cost = polled.cost_usd if polled.cost_usd is not None else resolved.info.price_per_item
            return Observation(GenerationStatus.COMPLETED, stored=self.state.storage.put(content),
                               content_type=polled.content_type, result_uri=polled.result_uri,
                               cost_usd=Decimal(cost or 0))
        except AppError as exc:
            message = f"{exc.code}: {exc.message}"
            if not exc.retryable:
                return Observation(GenerationStatus.FAILED, error=message)
            log.warning("poll of generation job %s failed; polling again", job.id, exc_info=True)
            return Observation(GenerationStatus.PROCESSING, error=message)

    def settle(self, repos: Repositories, job: GenerationJob, seen: Seen, observation: Observation | None,
               requeue: bool = False) -> str:
        """Under the run's lock: record the observation, time out or give up the job, schedule
        its next poll, and queue its step again once the job has ended (and log its usage)."""
        polls: list[PollSchedule] = []
        outcome = "unchanged"
        with repos.transaction(), repos.runs.locked(job.run_id) as run:
            scheduler = scheduler_for(repos, run, self.state)
            current = repos.generation_jobs.find(job.id)
            if current is None or current.attempts != seen.attempts or current.poll_job_id != seen.poll_job_id:
                return "duplicate"
            step = repos.get(RunStepLocator).find(current.run_step_id)
            now = self.state.clock.now()
            was_terminal = current.status.is_terminal
            if observation is not None:
                current.attempts += 1
                outcome = self.record(scheduler, run, step, current, observation, now)
            if not current.status.is_terminal:
                if run.status.is_terminal or step is None or step.status.is_terminal:
                    outcome = self.abandon(scheduler, current, run, step, now)
                elif now >= deadline_of(current):
                    current.move_to(GenerationStatus.TIMED_OUT)
                    current.error_message = (f"It did not finish within {current.timeout_ms / 1000:g} s "
                                             f"({current.attempts} polls).")
                    current.completed_at, outcome = now, "timed_out"
                elif observation is not None or requeue:
                    interval = current.poll_interval_ms / 1000
                    delay = 0.0 if requeue else min(interval, (deadline_of(current) - now).total_seconds())
                    polls.append(schedule_poll(current, delay, now))
                    outcome = "requeued" if requeue else outcome
            repos.generation_jobs.save(current)
            if current.status.is_terminal and not was_terminal:
                # With the terminal move, which a poll that lost the race never makes: one row a job.
                record_ended_job(self.state, repos, run, current, _ENDING_CODES[outcome])
            if current.status.is_terminal and not run.status.is_terminal and step is not None \
                    and step.status == StepStatus.WAITING:
                self.wake(scheduler, step, current)
        self.dispatch(self.state, scheduler.after)
        enqueue_polls(self.state, polls)
        return outcome

    def record(self, scheduler: Scheduler, run: Any, step: RunStep | None, job: GenerationJob,
               observation: Observation, now: datetime) -> str:
        """Apply what the provider said to the job (and, when it finished, to its step and run)."""
        if observation.status == GenerationStatus.COMPLETED:
            artifact = self.store(scheduler.repos, run, step, job, observation)
            job.move_to(GenerationStatus.COMPLETED)
            job.artifact_id, job.result_uri, job.error_message = artifact.id, observation.result_uri, None
            job.cost_usd, job.completed_at = observation.cost_usd, now
            # A generation is a model call: its price counts into the step's and the run's cost.
            if step is not None:
                scheduler.repos.run_steps.add_usage(step.id, 0, 0, observation.cost_usd or Decimal("0"))
            scheduler.repos.runs.add_usage(run.id, 0, 0, observation.cost_usd or Decimal("0"))
            return "completed"
        if observation.status == GenerationStatus.FAILED:
            job.move_to(GenerationStatus.FAILED)
            job.error_message, job.completed_at = observation.error, now
            return "failed"
        if job.status == GenerationStatus.PENDING:
            job.move_to(GenerationStatus.PROCESSING)
        job.error_message = observation.error  # a passing problem, shown until the next poll
        return "processing"

    def store(self, repos: Repositories, run: Any, step: RunStep | None, job: GenerationJob,
              observation: Observation) -> Artifact:
        """The job's result as an artifact of its step: one row per step and content hash."""
        stored = observation.stored
        existing = repos.artifacts.of_step(step.id, stored.content_hash) if step is not None else None
        if existing is not None:
            return existing
        media_type = observation.content_type or "application/octet-stream"
        extension = mimetypes.guess_extension(media_type) or ""
        return repos.artifacts.add(Artifact(
            run_id=run.id, run_step_id=step.id if step is not None else None,
            skill=step.skill if step is not None else None, media_type=media_type, uri=stored.uri,
            content_hash=stored.content_hash, size_bytes=stored.size_bytes,
            filename=f"{job.media_type}-{str(job.id)[:8]}{extension}",
            metadata_={"generationJobId": str(job.id), "model": job.model_name, "params": job.input_params}))

    def abandon(self, scheduler: Scheduler, job: GenerationJob, run: Any, step: RunStep | None,
                now: datetime) -> str:
        """Its run (or step) ended: nobody will pick the result up, so stop polling."""
        job.move_to(GenerationStatus.FAILED)
        ended = f"the run is {run.status.value}" if run.status.is_terminal else \
            f"its step is {step.status.value}" if step is not None else "its step is gone"
        job.error_message = f"Given up: {ended}, so nothing waits for the result."
        job.completed_at = now
        scheduler.note("generation.abandoned", generationJobId=str(job.id))
        return "abandoned"

    @staticmethod
    def wake(scheduler: Scheduler, step: RunStep, job: GenerationJob) -> None:
        """Queue the waiting step again: its skill picks the result (or the failure) up.

        The execution that waited keeps its row (outcome ``waiting``) and the next one has the
        next number; the attempt is given back (the claim counts one), so a handover is not a
        try of the step's retry budget.
        """
        scheduler.enqueue(step, StepStatus.WAITING, attempt=step.attempt - 1, worker_name=None)
        scheduler.note(f"generation.{job.status.value}", step=step.step_key, generationJobId=str(job.id),
                       attempts=job.attempts, artifactId=str(job.artifact_id) if job.artifact_id else None,
                       error=job.error_message)


__all__ = ["GENERATION_ABANDONED", "GenerationPoller", "Observation", "Seen"]
