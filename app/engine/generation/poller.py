"""Asynchronous media generations (seed 004's GenerationJob): start one, poll it, pick it up.

A skill calls :meth:`StepContext.generate_media`. The first time, the request goes to the
provider (``submit``), a GenerationJob row records it, and :class:`AwaitingGeneration` ends
the attempt: the executor moves the step to ``waiting`` and no worker is held. A poll job,
``app.jobs.poll_generation(generation_job_id)``, asks the provider at the interval it gave
until the job completes, fails or times out; a completed job's bytes are stored as a
content-addressed artifact. Then the step is queued again, its skill runs again, and the
same ``generate_media`` call finds the job by its request hash: it returns the artifact's
id, or raises the failure, so the step's retry policy applies.

The database is the truth here too: each job records when its next poll is due
(``next_poll_at``) and which RQ job makes it (``poll_job_id``). A poll that is not the one
recorded does nothing, so duplicate polls are harmless, and the reconciler re-enqueues a
poll that Redis lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy.exc import IntegrityError

from ..errors import AppError, ExternalServiceError, RepositoryError, ValidationError
from ..extensions import db
from ..models import Artifact, GenerationJob, GenerationStatus, RunStep, utcnow
from ..provider import MediaRequest
from ..repositories import Repositories
from ..repositories.generation_jobs import GenerationJobLocator
from ..repositories.runs import RunStepLocator
from ..state import repositories
from ..storage import StoredContent
from .model_access import resolve_model
from .planner import canonical_json
from .scheduler import AfterCommit, Scheduler, scheduler_for
from .states import StepStatus

if TYPE_CHECKING:
    from ..state import InkwrightState

log = logging.getLogger(__name__)

POLL_FUNCTION = "app.jobs.poll_generation"
#: How long a generation may take when the skill names no timeout (the column's default).
DEFAULT_TIMEOUT_MS = 600_000
MAX_TIMEOUT_SECONDS = 24 * 3600
#: Bounds on the interval a provider asks to be polled at: no tighter loop than the first,
#: and no job left unlooked-at for longer than the second.
MIN_POLL_INTERVAL = 0.05
MAX_POLL_INTERVAL = 300.0
#: Seconds one poll job may take, the download of a finished result included.
POLL_JOB_TIMEOUT = 600


class GenerationFailedError(ExternalServiceError):
    """The provider said the generation failed (or it was given up)."""

    code = "GENERATION_FAILED"

    def default_message(self) -> str:
        return "The media generation failed at its provider."


class GenerationTimedOutError(ExternalServiceError):
    """The generation did not finish within its timeout."""

    code = "GENERATION_TIMED_OUT"

    def default_message(self) -> str:
        return "The media generation did not finish in time."


class AwaitingGeneration(Exception):
    """Ends an attempt whose skill waits on a generation job: not a failure. The executor
    moves the step to ``waiting`` and schedules the job's first poll ``delay`` seconds on."""

    def __init__(self, job_id: uuid.UUID, delay: float) -> None:
        super().__init__(f"waiting for generation job {job_id}")
        self.job_id = job_id
        self.delay = delay


def request_hash(model: str, media_type: str, params: dict[str, Any], candidate_index: int) -> str:
    """The sha256 a step's request is known by: the same call in a later attempt finds its job."""
    payload = {"model": model, "mediaType": media_type, "params": params, "candidate": candidate_index}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def retired_hash(job: GenerationJob) -> str:
    """What a failed job's request hash becomes once an attempt has reported the failure:
    unique, and no request's hash, so the retry submits a new job while the failed one
    stays in the step's history."""
    return hashlib.sha256(f"retired:{job.id}".encode("utf-8")).hexdigest()


def deadline_of(job: GenerationJob) -> datetime:
    return (job.started_at or job.created_at) + timedelta(milliseconds=job.timeout_ms)


def _timeout_ms(timeout: float | None) -> int:
    if timeout is None:
        return DEFAULT_TIMEOUT_MS
    if not 0 < float(timeout) <= MAX_TIMEOUT_SECONDS:
        raise ValidationError(f"A generation timeout lies between 0 and {MAX_TIMEOUT_SECONDS} seconds.",
                              {"timeout": timeout})
    return max(1, int(float(timeout) * 1000))


def _json_params(params: dict[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    try:  # they are stored (input_params) and hashed: they must be plain JSON
        json.loads(json.dumps(params, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Generation parameters must be plain JSON: {exc}.") from None
    return params


# Scheduling polls -----------------------------------------------------------------------
@dataclass(frozen=True)
class PollSchedule:
    """A poll recorded on its job, to enqueue once the transaction has committed."""

    generation_job_id: uuid.UUID
    rq_job_id: str
    delay: float


def schedule_poll(job: GenerationJob, delay: float) -> PollSchedule:
    """Record on the job which RQ job polls it next, and when (in the caller's transaction)."""
    delay = max(0.0, delay)
    job.poll_job_id = f"generation-{job.id}-{uuid.uuid4().hex[:8]}"
    job.next_poll_at = utcnow() + timedelta(seconds=delay)
    return PollSchedule(job.id, job.poll_job_id, delay)


def schedule_first_poll(repos: Repositories, awaiting: AwaitingGeneration) -> PollSchedule | None:
    """For a step that just went waiting: its job's first poll (a newer one than any before)."""
    job = repos.generation_jobs.find(awaiting.job_id)
    if job is None:
        return None
    poll = schedule_poll(job, awaiting.delay)
    repos.generation_jobs.save(job)
    return poll


def enqueue_polls(state: "InkwrightState", polls: list[PollSchedule]) -> None:
    """After the commit: put recorded polls on the queue, each as a delayed job."""
    if not polls:
        return
    queue = state.queue()
    for poll in polls:
        options = dict(job_id=poll.rq_job_id, job_timeout=POLL_JOB_TIMEOUT, result_ttl=600, failure_ttl=86400)
        if poll.delay > 0:
            queue.enqueue_in(timedelta(seconds=poll.delay), POLL_FUNCTION, str(poll.generation_job_id), **options)
        else:
            queue.enqueue(POLL_FUNCTION, str(poll.generation_job_id), **options)


# The step's side ------------------------------------------------------------------------
class StepGenerations:
    """What a step attempt asks of generation jobs: start one, or pick up the one it started."""

    def __init__(self, state: "InkwrightState", repos: Repositories, run: Any, step: Any) -> None:
        self.state = state
        self.repos = repos
        self.run = run
        self.step = step

    def finished_job(self, model: str, *, media_type: str, params: dict[str, Any] | None,
                     timeout: float | None, candidate_index: int) -> GenerationJob:
        """This request's job, completed: its ``artifact_id`` is the result.

        :raises AwaitingGeneration: when the job was just submitted, or is still at work.
        :raises GenerationFailedError: (or :class:`GenerationTimedOutError`) when it ended badly.
        """
        if not isinstance(media_type, str) or not 0 < len(media_type) <= 50:
            raise ValidationError("Name the media type to generate (image, audio, video).",
                                  {"media_type": media_type})
        params = _json_params(params)
        timeout_ms = _timeout_ms(timeout)
        digest = request_hash(model, media_type, params, candidate_index)
        job = self.repos.generation_jobs.for_request(self.step.id, digest)
        if job is None:
            job = self.submit(model, media_type, params, timeout_ms, digest)
        return self.pick_up(job)

    def submit(self, model: str, media_type: str, params: dict[str, Any], timeout_ms: int,
               digest: str) -> GenerationJob:
        resolved = resolve_model(self.state, self.repos, self.run, model)
        if resolved.info.kind != media_type:
            raise ValidationError(f"Model {model} generates {resolved.info.kind}, not {media_type}.",
                                  {"model": model, "media_type": media_type})
        self.repos.session.rollback()  # no transaction stays open while the provider answers
        submission = resolved.provider.submit(MediaRequest(model=resolved.model, media_type=media_type,
                                                           params=params))
        interval = min(MAX_POLL_INTERVAL, max(MIN_POLL_INTERVAL, float(submission.poll_interval)))
        job = GenerationJob(
            run_id=self.run.id, run_step_id=self.step.id, request_hash=digest, provider_id=resolved.provider_name,
            model_name=model, provider_job_id=submission.job_id, media_type=media_type,
            status=GenerationStatus.PENDING, poll_interval_ms=int(interval * 1000), timeout_ms=timeout_ms,
            attempts=0, input_params=params, started_at=utcnow())
        try:
            with self.repos.transaction():
                self.repos.generation_jobs.add(job)
        except RepositoryError as error:
            if not isinstance(error.cause, IntegrityError):
                raise
            # Another execution of this very attempt recorded the request first: follow its job.
            existing = self.repos.generation_jobs.for_request(self.step.id, digest)
            if existing is None:
                raise
            log.warning("provider job %s for step %s is not followed: job %s has the same request",
                        submission.job_id, self.step.id, existing.id)
            return existing
        return job

    def pick_up(self, job: GenerationJob) -> GenerationJob:
        if job.status == GenerationStatus.COMPLETED and job.artifact_id is not None:
            return job
        if job.status.is_terminal:
            self.retire(job)
            if job.status == GenerationStatus.TIMED_OUT:
                raise GenerationTimedOutError(f"Generation job {job.id} ({job.model_name}) timed out: "
                                              f"{job.error_message}", self._details(job))
            reason = job.error_message or ("its artifact is gone" if job.status == GenerationStatus.COMPLETED
                                           else "no reason given")
            raise GenerationFailedError(f"Generation job {job.id} ({job.model_name}) failed: {reason}",
                                        self._details(job))
        # Still at work: an attempt that died before it could wait submitted it. Wait again.
        raise AwaitingGeneration(job.id, job.poll_interval_ms / 1000)

    def retire(self, job: GenerationJob) -> None:
        """This attempt reports the failure; a retry must start a new job."""
        with self.repos.transaction():
            job.request_hash = retired_hash(job)
            self.repos.generation_jobs.save(job)

    @staticmethod
    def _details(job: GenerationJob) -> dict[str, Any]:
        return {"generationJobId": str(job.id), "model": job.model_name, "status": job.status.value,
                "error": job.error_message}


# The poll's side -------------------------------------------------------------------------
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
        (:func:`app.engine.executor.dispatch`; passed in because the executor imports this
        module, through the step context).
    """

    def __init__(self, state: "InkwrightState", dispatch: Callable[["InkwrightState", AfterCommit], None]) -> None:
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
        its next poll, and queue its step again once the job has ended."""
        polls: list[PollSchedule] = []
        outcome = "unchanged"
        with repos.transaction(), repos.runs.locked(job.run_id) as run:
            scheduler = scheduler_for(repos, run, self.state)
            current = repos.generation_jobs.find(job.id)
            if current is None or current.attempts != seen.attempts or current.poll_job_id != seen.poll_job_id:
                return "duplicate"
            step = repos.get(RunStepLocator).find(current.run_step_id)
            now = utcnow()
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
                    polls.append(schedule_poll(current, delay))
                    outcome = "requeued" if requeue else outcome
            repos.generation_jobs.save(current)
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

        The attempt that waited keeps its row (outcome ``waiting``), so the next attempt
        has the next number; the step's budget grows by one so that a handover does not
        count as a try (giving the attempt number back instead would collide with that row).
        """
        scheduler.enqueue(step, StepStatus.WAITING, max_attempts=step.max_attempts + 1, worker_name=None)
        scheduler.note(f"generation.{job.status.value}", step=step.step_key, generationJobId=str(job.id),
                       attempts=job.attempts, artifactId=str(job.artifact_id) if job.artifact_id else None,
                       error=job.error_message)


__all__ = ["AwaitingGeneration", "GenerationFailedError", "GenerationPoller", "GenerationTimedOutError",
           "POLL_FUNCTION", "PollSchedule", "StepGenerations", "deadline_of", "enqueue_polls", "request_hash",
           "retired_hash", "schedule_first_poll", "schedule_poll"]
