"""The step's side of a generation: what a step attempt asks for, and what it gets back.

A request is known by its hash (model, media type, parameters, candidate), so the same
``generate_media`` call in a later attempt finds the job an earlier one submitted: it waits
for it (:class:`~.awaiting.AwaitingGeneration`), takes its artifact, or raises its failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from ...errors import AppError, ExternalServiceError, RepositoryError, ValidationError
from ...models import GenerationJob, GenerationStatus
from ...provider import MediaRequest
from ...repositories import Repositories
from ...runtime import InkwrightState
from ..model_access import ResolvedModel, resolve_model
from ..planner import canonical_json
from .awaiting import AwaitingGeneration
from .polls import poll_interval
from .usage import generation_meter

log = logging.getLogger(__name__)

#: How long a generation may take when the skill names no timeout (the column's default).
DEFAULT_TIMEOUT_MS = 600_000
MAX_TIMEOUT_SECONDS = 24 * 3600


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


def request_hash(model: str, media_type: str, params: dict[str, Any], candidate_index: int) -> str:
    """The sha256 a step's request is known by: the same call in a later attempt finds its job."""
    payload = {"model": model, "mediaType": media_type, "params": params, "candidate": candidate_index}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def retired_hash(job: GenerationJob) -> str:
    """What a failed job's request hash becomes once an attempt has reported the failure:
    unique, and no request's hash, so the retry submits a new job while the failed one
    stays in the step's history."""
    return hashlib.sha256(f"retired:{job.id}".encode("utf-8")).hexdigest()


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


class StepGenerations:
    """What a step attempt asks of generation jobs: start one, or pick up the one it started."""

    def __init__(self, state: InkwrightState, repos: Repositories, run: Any, step: Any) -> None:
        self.state = state
        self.repos = repos
        self.run = run
        self.step = step

    def finished_job(self, model: str, *, media_type: str, params: dict[str, Any] | None,
                     timeout: float | None, candidate_index: int) -> GenerationJob:
        """This request's job, completed: its ``artifact_id`` is the result.

        :raises AwaitingGeneration: when the job was just submitted, or is still at work.
        :raises GenerationFailedError: (or :class:`GenerationTimedOutError`) when it ended badly.
        :raises BudgetExceededError: when the model's price could pass the run's budget; the
            executor holds the step and pauses the run, as for a text call.
        :raises AppError: when the provider refused the request (recorded in the usage log).
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
        """Check the budget, send the request, and record its job.

        A submission that fails before there is a job to follow leaves a failed usage-log
        row with the error's code, as a failed text call does.
        """
        meter = generation_meter(self.state, self.repos, self.run, self.step)
        started = time.perf_counter()
        resolved: ResolvedModel | None = None
        try:
            resolved = resolve_model(self.state, self.repos, self.run, model, payer=meter.payer)
            if resolved.info.kind != media_type:
                raise ValidationError(f"Model {model} generates {resolved.info.kind}, not {media_type}.",
                                      {"model": model, "media_type": media_type})
            self.repos.transaction().end_read()  # no transaction stays open while the provider answers
            with self.repos.transaction():
                meter.check_cost(resolved.info.price_per_item)
            submission = resolved.provider.submit(MediaRequest(model=resolved.model, media_type=media_type,
                                                               params=params))
        except AppError as error:
            meter.record_failure(model, resolved, None, error, started)
            raise
        job = GenerationJob(
            run_id=self.run.id, run_step_id=self.step.id, request_hash=digest, provider_id=resolved.provider_name,
            model_name=model, provider_job_id=submission.job_id, media_type=media_type,
            status=GenerationStatus.PENDING, poll_interval_ms=int(poll_interval(submission.poll_interval) * 1000),
            timeout_ms=timeout_ms, attempts=0, input_params=params, started_at=self.state.clock.now())
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
        raise AwaitingGeneration(job.id, job.poll_interval_ms / 1000, self.state.clock.now())

    def retire(self, job: GenerationJob) -> None:
        """This attempt reports the failure; a retry must start a new job."""
        with self.repos.transaction():
            job.request_hash = retired_hash(job)
            self.repos.generation_jobs.save(job)

    @staticmethod
    def _details(job: GenerationJob) -> dict[str, Any]:
        return {"generationJobId": str(job.id), "model": job.model_name, "status": job.status.value,
                "error": job.error_message}


__all__ = ["AwaitingGeneration", "GenerationFailedError", "GenerationTimedOutError", "StepGenerations",
           "request_hash", "retired_hash"]
