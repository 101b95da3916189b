"""The executor: what one RQ job does with one step, ``app.jobs.run_step(step_id)``.

1. **Claim** the step with a conditional UPDATE (queued → running, and still this job's),
   so two workers never run the same attempt and a stale duplicate job does nothing.
2. **Cache**: serve a ready entry; wait for an entry another step is computing; or claim
   the entry, so identical steps racing compute once.
3. **Attempt**: record it, run the skill (once per candidate) through a StepContext.
4. **Finish** under the run's lock: complete (or await a person's selection), retry with
   backoff, or fail; then plan whatever became ready, all in one transaction.

Jobs are enqueued and progress published only after that transaction commits.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app, g
from marshmallow import ValidationError as SchemaValidationError
from rq import get_current_job

from ..errors import AppError
from ..models import AttemptOutcome, Run, RunStep, StepAttempt, StepCacheEntry, utcnow
from ..repositories import Repositories
from ..repositories.runs import RunStepLocator
from ..state import InkwrightState, repositories
from ..workflows.definition import StepSpec
from .context import EngineStepContext, StepCancelled
from .planner import merged_content, model_options
from .progress import RunEvents
from .scheduler import AfterCommit, Scheduler, new_job_id, scheduler_for
from .states import StepStatus

log = logging.getLogger(__name__)

JOB_FUNCTION = "app.jobs.run_step"


class InvalidOutput(Exception):
    """The skill's output does not fit its output schema."""

    def __init__(self, messages: Any):
        super().__init__(f"output does not fit the skill's schema: {messages}")
        self.messages = messages


def worker_name() -> str:
    return g.get("inkwright_worker_name") or f"{socket.gethostname()}:{os.getpid()}"


def dispatch(state: InkwrightState, after: AfterCommit) -> None:
    """Enqueue the jobs and publish the progress a committed transaction produced."""
    if after.jobs:
        queue = state.queue()
        default_timeout = current_app.config["STEP_DEFAULT_TIMEOUT"]
        now_jobs = [queue.prepare_data(JOB_FUNCTION, args=(str(step_id),), job_id=job_id,
                                       timeout=timeout or default_timeout, result_ttl=600, failure_ttl=86400)
                    for step_id, job_id, delay, timeout in after.jobs if delay <= 0]
        if now_jobs:
            queue.enqueue_many(now_jobs)
        for step_id, job_id, delay, timeout in after.jobs:
            if delay > 0:
                queue.enqueue_in(timedelta(seconds=delay), JOB_FUNCTION, str(step_id), job_id=job_id,
                                 job_timeout=timeout or default_timeout, result_ttl=600, failure_ttl=86400)
    if after.progress:
        events = RunEvents(state.redis.client())
        for run_id, kind, data in after.progress:
            events.publish(run_id, kind, **data)


def _error(code: str, message: str, attempt: int, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "attempt": attempt, "timestamp": utcnow().isoformat(),
            "details": details}


class StepExecutor:
    def __init__(self, state: InkwrightState) -> None:
        self.state = state
        self.events = RunEvents(state.redis.client())

    def scheduler(self, repos: Repositories, run: Run) -> Scheduler:
        return scheduler_for(repos, run, self.state)

    def finish(self, repos: Repositories, run_id: uuid.UUID, change) -> AfterCommit:
        """Run ``change(scheduler, run)`` under the run's lock in one transaction; dispatch after."""
        with repos.transaction():
            run = repos.runs.lock(run_id)
            scheduler = self.scheduler(repos, run)
            change(scheduler, run)
        dispatch(self.state, scheduler.after)
        return scheduler.after

    # The job ------------------------------------------------------------------------------
    def run(self, step_id: str) -> dict[str, Any]:
        job = get_current_job()
        job_id = job.id if job else None
        step = repositories().get(RunStepLocator).find(step_id)
        if step is None:
            return {"outcome": "gone"}
        repos = repositories(step.tenant_id)
        run = repos.runs.get(step.run_id)
        if run is None or run.status.is_terminal:
            return {"outcome": "run_ended"}
        with repos.transaction():
            claimed = repos.run_steps.move(step, StepStatus.QUEUED, of_job=job_id, status=StepStatus.RUNNING,
                                           worker_name=worker_name(), heartbeat_at=utcnow(),
                                           started_at=step.started_at or utcnow())
        if not claimed:
            return {"outcome": "not_claimed"}
        self.events.publish(run.id, "step.started", step=step.step_key, attempt=step.attempt + 1)
        spec = scheduler_for(repos, run, self.state).spec(step)
        regenerating = bool(step.candidates)
        if spec.cache != "off" and not regenerating:
            outcome = self.use_cache(repos, run, step, spec)
            if outcome is not None:
                return outcome
        return self.attempt(repos, run, step, spec, regenerating)

    # Cache --------------------------------------------------------------------------------
    def use_cache(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec) -> dict[str, Any] | None:
        scheduler = self.scheduler(repos, run)
        key = scheduler.cache_key(step, spec)
        entry = repos.step_cache.find(key)
        if entry is not None and entry.ready:
            def serve(scheduler: Scheduler, locked: Run) -> None:
                scheduler.plan(scheduler.serve_from_cache(step, spec, entry, expected=StepStatus.RUNNING))
            self.finish(repos, run.id, serve)
            return {"outcome": "cache_hit"}
        stale_before = utcnow() - timedelta(seconds=current_app.config["STEP_STALE_AFTER"])
        if entry is not None and entry.owner_step_id != step.id and entry.claimed_at and entry.claimed_at > stale_before:
            return self.wait_for_cache(repos, run, step)
        try:
            with repos.transaction():
                if entry is not None:  # a stale claim by a crashed step: take it over
                    entry.owner_step_id, entry.claimed_at = step.id, utcnow()
                else:
                    repos.step_cache.add(StepCacheEntry(
                        cache_key=key, workflow_name=run.workflow_name, step_id=spec.id, input_hash=step.input_hash,
                        scope=spec.cache, root_run_id=run.root_run_id if spec.cache == "run_only" else None,
                        ready=False, owner_step_id=step.id, claimed_at=utcnow()))
        except AppError:
            # Another identical step claimed it between our read and our insert.
            return self.wait_for_cache(repos, run, step)
        return None

    def wait_for_cache(self, repos: Repositories, run: Run, step: RunStep) -> dict[str, Any]:
        delay = current_app.config["CACHE_WAIT"]

        def requeue(scheduler: Scheduler, locked: Run) -> None:
            scheduler.enqueue(step, StepStatus.RUNNING, delay=delay, worker_name=None)
        self.finish(repos, run.id, requeue)
        return {"outcome": "waiting_for_cache"}

    # Attempt ------------------------------------------------------------------------------
    def attempt(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                regenerating: bool) -> dict[str, Any]:
        number = step.attempt + 1
        started = utcnow()
        with repos.transaction():
            if not repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=step.attempt, attempt=number):
                return {"outcome": "not_claimed"}
            repos.step_attempts.add(StepAttempt(run_step_id=step.id, number=number, outcome=AttemptOutcome.RUNNING,
                                                worker_name=worker_name(), job_id=step.job_id, started_at=started))
        try:
            candidates, tokens = self.execute(repos, run, step, spec, offset=len(step.candidates or []))
        except StepCancelled as exc:
            return self.cancelled(repos, run, step, str(exc))
        except InvalidOutput as exc:
            error = _error("INVALID_OUTPUT", str(exc), number, fields=exc.messages)
            return self.failed(repos, run, step, spec, error, retryable=spec.retry.on_invalid_output)
        except Exception as exc:  # noqa: BLE001 - any failure of a skill is the step's, recorded
            log.warning("step %s attempt %s failed", step.id, number, exc_info=True)
            code = getattr(exc, "code", None) or ("STEP_TIMEOUT" if "Timeout" in type(exc).__name__
                                                  else "SKILL_ERROR")
            error = _error(code, f"{type(exc).__name__}: {exc}", number)
            return self.failed(repos, run, step, spec, error, retryable=getattr(exc, "retryable", True))
        return self.completed(repos, run, step, spec, candidates, tokens, regenerating)

    def execute(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                offset: int) -> tuple[list[dict[str, Any]], tuple[int, int]]:
        skill_class = self.state.registry.skill(step.skill)
        scheduler = self.scheduler(repos, run)
        options = model_options(spec, scheduler.definition.defaults)
        count = spec.candidate_count
        made = []
        tokens_in = tokens_out = 0
        for index in range(offset, offset + count):
            model = spec.models[index % len(spec.models)] if spec.models else None
            ctx = EngineStepContext(repos, run, step, self.state.storage, self.events, self.state.registry.providers,
                                    options, candidate_index=index, model=model)
            ctx.check_cancelled()
            inputs = skill_class.input_schema().load(step.inputs or {})
            raw = skill_class().run(ctx, inputs)
            schema = skill_class.output_schema()
            try:
                output = schema.dump(schema.load(raw if isinstance(raw, dict) else {"_": raw}))
            except SchemaValidationError as exc:
                raise InvalidOutput(exc.messages) from exc
            tokens_in += ctx.tokens_input
            tokens_out += ctx.tokens_output
            made.append({"index": index, "model": ctx.model, "output": output, "artifactIds": ctx.artifact_ids,
                         "createdAt": utcnow().isoformat()})
        return made, (tokens_in, tokens_out)

    # Endings ------------------------------------------------------------------------------
    @staticmethod
    def open_attempt(repos: Repositories, step: RunStep) -> StepAttempt | None:
        """This job's attempt row, unless the reconciler already recorded it as crashed (a
        horse outliving its killed worker finishes late): its record is not rewritten."""
        attempt = repos.step_attempts.current(step)
        return attempt if attempt is not None and attempt.outcome == AttemptOutcome.RUNNING else None

    def completed(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                  made: list[dict[str, Any]], tokens: tuple[int, int], regenerating: bool) -> dict[str, Any]:
        number = step.attempt
        outcome: dict[str, Any] = {"outcome": "completed"}

        def complete(scheduler: Scheduler, locked: Run) -> None:
            now = utcnow()
            candidates = list(step.candidates or []) + made if regenerating else made
            artifact_ids = sorted({a for c in candidates for a in c["artifactIds"]})
            attempt = self.open_attempt(repos, step)
            if attempt is not None:
                attempt.outcome, attempt.ended_at = AttemptOutcome.COMPLETED, now
                attempt.duration_ms = int((now - attempt.started_at).total_seconds() * 1000)
            locked.tokens_input += tokens[0]
            locked.tokens_output += tokens[1]
            common = dict(candidates=candidates, output_artifact_ids=artifact_ids, ended_at=now,
                          duration_ms=int((now - step.started_at).total_seconds() * 1000) if step.started_at else None,
                          tokens_input=step.tokens_input + tokens[0],
                          tokens_output=step.tokens_output + tokens[1], error=None, worker_name=None)
            if spec.cache != "off" and not regenerating:
                entry = repos.step_cache.find(scheduler.cache_key(step, spec))
                if entry is not None and entry.owner_step_id == step.id:
                    entry.ready, entry.data, entry.candidates = True, candidates[0]["output"], candidates
                    entry.artifact_ids, entry.owner_step_id = artifact_ids, None
                    entry.tokens_input, entry.tokens_output = tokens
            if locked.status.is_terminal:
                # The run was cancelled or failed while this step worked: keep its output, go no further.
                if repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=number, status=StepStatus.COMPLETED,
                                        output=candidates[0]["output"], **common):
                    scheduler._count_done(step)
                outcome["outcome"] = "completed_after_run_ended"
                return
            if spec.select == "user":
                if repos.run_steps.move(step, StepStatus.RUNNING, attempt=number,
                                        status=StepStatus.AWAITING_SELECTION, **common):
                    scheduler.await_selection(step)
                    outcome["outcome"] = "awaiting_selection"
                return
            output = candidates[0]["output"]
            if repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=number, status=StepStatus.COMPLETED,
                                    output=output, merged_content=merged_content(output), **common):
                scheduler.plan(scheduler.finished(step))
            else:
                outcome["outcome"] = "superseded"  # the reconciler gave this attempt up for lost
        self.finish(repos, run.id, complete)
        return outcome

    def failed(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec, error: dict[str, Any],
               retryable: bool) -> dict[str, Any]:
        number = step.attempt
        outcome: dict[str, Any] = {"outcome": "failed", "error": error}

        def fail(scheduler: Scheduler, locked: Run) -> None:
            now = utcnow()
            attempt = self.open_attempt(repos, step)
            if attempt is not None:
                attempt.outcome, attempt.ended_at, attempt.error = AttemptOutcome.FAILED, now, error
                attempt.duration_ms = int((now - attempt.started_at).total_seconds() * 1000)
            if retryable and number < step.max_attempts and not locked.status.is_terminal:
                delay = spec.retry.delay_before(number + 1)
                scheduler.enqueue(step, StepStatus.RUNNING, delay=delay, error=error, worker_name=None)
                scheduler.note("step.retrying", step=step.step_key, attempt=number, delay=delay, error=error)
                outcome["outcome"] = "retrying"
                return
            current = repos.run_steps.by_key(run.id, step.step_key)
            # Unless the reconciler already gave this attempt up for lost and moved on.
            if current.status == StepStatus.RUNNING and current.attempt == number:
                scheduler.plan(scheduler.fail(current, error))
        self.finish(repos, run.id, fail)
        return outcome

    def cancelled(self, repos: Repositories, run: Run, step: RunStep, reason: str) -> dict[str, Any]:
        def cancel(scheduler: Scheduler, locked: Run) -> None:
            now = utcnow()
            attempt = self.open_attempt(repos, step)
            if attempt is not None:
                attempt.outcome, attempt.ended_at = AttemptOutcome.CANCELLED, now
            if repos.run_steps.move(step, StepStatus.RUNNING, status=StepStatus.SKIPPED, ended_at=now,
                                    error={"code": "CANCELLED", "message": reason}, worker_name=None):
                repos.step_cache.release(step.id)
                scheduler._count_done(step)
                scheduler.note("step.skipped", step=step.step_key, reason="cancelled")
        self.finish(repos, run.id, cancel)
        return {"outcome": "cancelled"}


__all__ = ["JOB_FUNCTION", "StepExecutor", "dispatch", "new_job_id"]
