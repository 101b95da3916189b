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
from decimal import Decimal
from typing import Any

from flask import current_app, g
from marshmallow import ValidationError as SchemaValidationError
from rq import get_current_job
from sqlalchemy.exc import IntegrityError

from ..errors import PaymentRequiredError, RepositoryError
from ..extensions import db
from ..models import AttemptOutcome, Run, RunStep, StepCacheEntry, utcnow
from ..repositories import Repositories
from ..repositories.records import StepRecord
from ..repositories.runs import RunStepLocator
from ..runtime import InkwrightState, repositories
from ..workflows.definition import StepSpec
from .context import EngineStepContext, StepCancelled
from .definitions import RunSnapshot
from .generation.polls import enqueue_polls, schedule_first_poll
from .generation.requests import AwaitingGeneration
from .planner import merged_content, model_options
from .progress import RunEvents
from .scheduler import AfterCommit, Scheduler, new_job_id, scheduler_for
from .skill_schemas import input_schema, output_schema
from ..statuses import StepStatus

log = logging.getLogger(__name__)

JOB_FUNCTION = "app.jobs.run_step"


class Spent:
    """What a step attempt's model calls used, summed over its candidates (for the cache entry)."""

    def __init__(self) -> None:
        self.tokens_input = self.tokens_output = self.model_calls = 0
        self.cost_usd = Decimal("0")

    def add(self, ctx: EngineStepContext) -> None:
        self.tokens_input += ctx.tokens_input
        self.tokens_output += ctx.tokens_output
        self.cost_usd += ctx.cost_usd
        self.model_calls += ctx.model_calls


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
        RunEvents(state.redis.client()).publish_many(after.progress)


def _error(code: str, message: str, attempt: int, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "attempt": attempt, "timestamp": utcnow().isoformat(),
            "details": details}


class StepExecutor:
    def __init__(self, state: InkwrightState) -> None:
        self.state = state
        self.events = RunEvents(state.redis.client())
        self.pending_started: tuple | None = None

    def scheduler(self, repos: Repositories, run: Run) -> Scheduler:
        return scheduler_for(repos, run, self.state)

    def finish(self, repos: Repositories, run_id: uuid.UUID, change) -> AfterCommit:
        """Run ``change(scheduler, run)`` under the run's lock in one transaction; dispatch after."""
        with repos.transaction(), repos.runs.locked(run_id) as run:
            scheduler = self.scheduler(repos, run)
            change(scheduler, run)
        if self.pending_started is not None:
            scheduler.after.progress.insert(0, self.pending_started)
            self.pending_started = None
        dispatch(self.state, scheduler.after)
        return scheduler.after

    # The job ------------------------------------------------------------------------------
    def run(self, step_id: str) -> dict[str, Any]:
        job = get_current_job()
        job_id = job.id if job else None
        # A job's session is its own and short: what it loaded stays valid after each of its
        # commits (the run itself is re-read under its lock), so nothing is re-fetched.
        db.session().expire_on_commit = False
        claimer = repositories()
        try:
            with claimer.transaction():
                step = claimer.get(RunStepLocator).claim(step_id, job_id, worker_name())
                if step is None:
                    # Not this job's to run: a stale duplicate, a cancelled run's step, or gone.
                    return {"outcome": "not_claimed"}
                repos = repositories(step.tenant_id)
                run = self.state.definitions.snapshot(repos.session, step.run_id)
                spec = self.scheduler(repos, run).spec(step)
                regenerating = bool(step.candidates)
                cache = self.claim_cache(repos, run, step, spec) if spec.cache != "off" and not regenerating else None
        except RepositoryError as error:
            if not isinstance(error.cause, IntegrityError):
                raise
            # An identical step claimed the cache entry at the same moment: all of this
            # transaction is undone (the step is still queued, still ours); look again later.
            return self.wait_for_cache(repos, run, step, claimed=False)
        if cache is not None and cache.ready:
            return self.serve_from_cache(repos, run, step, spec, cache)
        if cache is not None:
            return self.wait_for_cache(repos, run, step, claimed=True)
        # "step.started" goes out with the step's first call on its context (a skill doing
        # real work makes one at once), or with the completion: a fast step then costs one
        # publish to Redis instead of two.
        self.pending_started = (run.id, "step.started", {"step": step.step_key, "attempt": step.attempt})
        return self.attempt(repos, run, step, spec, regenerating)

    def announce_started(self) -> None:
        if self.pending_started is not None:
            self.events.publish_many([self.pending_started])
            self.pending_started = None

    # Cache --------------------------------------------------------------------------------
    def claim_cache(self, repos: Repositories, run: RunSnapshot, step: StepRecord, spec: StepSpec) -> Any:
        """Inside the claim's transaction: the entry to serve (ready) or to wait for (an
        identical step is computing it), else ``None`` once this step has claimed it."""
        key = self.scheduler(repos, run).cache_key(step, spec)
        entry = repos.step_cache.find(key)
        if entry is not None and entry.ready:
            return entry
        stale_before = utcnow() - timedelta(seconds=current_app.config["STEP_STALE_AFTER"])
        if entry is not None and entry.owner_step_id != step.id and entry.claimed_at and \
                entry.claimed_at > stale_before:
            return entry
        if entry is not None:  # our own claim from an earlier attempt, or a crashed step's
            entry.owner_step_id, entry.claimed_at = step.id, utcnow()
            repos.step_cache.save(entry)
        else:
            repos.step_cache.add(StepCacheEntry(
                cache_key=key, workflow_name=run.workflow_name, step_id=spec.id, input_hash=step.input_hash,
                scope=spec.cache, root_run_id=run.root_run_id if spec.cache == "run_only" else None,
                ready=False, owner_step_id=step.id, claimed_at=utcnow()))
        return None

    def serve_from_cache(self, repos: Repositories, run: RunSnapshot, step: RunStep, spec: StepSpec,
                         entry: Any) -> dict[str, Any]:
        # Served, not attempted: the attempt the claim counted is given back.
        def serve(scheduler: Scheduler, locked: Run) -> None:
            scheduler.plan(scheduler.serve_from_cache(step, spec, entry, expected=StepStatus.RUNNING,
                                                      attempt=step.attempt - 1))
        self.finish(repos, run.id, serve)
        return {"outcome": "cache_hit"}

    def wait_for_cache(self, repos: Repositories, run: RunSnapshot, step: RunStep, claimed: bool) -> dict[str, Any]:
        """Look again a little later, with a new (delayed) job; a claimed step gives its
        attempt back."""
        delay = current_app.config["CACHE_WAIT"]

        def requeue(scheduler: Scheduler, locked: Run) -> None:
            if locked.status.is_terminal:
                return
            if claimed:
                scheduler.enqueue(step, StepStatus.RUNNING, delay=delay, attempt=step.attempt - 1, worker_name=None)
            else:
                scheduler.enqueue(step, StepStatus.QUEUED, delay=delay)
            scheduler.note("step.waiting_for_cache", step=step.step_key, delay=delay)
        self.finish(repos, run.id, requeue)
        return {"outcome": "waiting_for_cache"}

    # Attempt ------------------------------------------------------------------------------
    def attempt(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                regenerating: bool) -> dict[str, Any]:
        number = step.attempt
        try:
            candidates, spent = self.execute(repos, run, step, spec, offset=len(step.candidates or []))
        except StepCancelled as exc:
            return self.cancelled(repos, run, step, str(exc))
        except AwaitingGeneration as awaiting:
            return self.waiting(repos, run, step, awaiting)
        except InvalidOutput as exc:
            error = _error("INVALID_OUTPUT", str(exc), number, fields=exc.messages)
            return self.failed(repos, run, step, spec, error, retryable=spec.retry.on_invalid_output)
        except PaymentRequiredError as exc:  # no credits, or the run's budget: pause, don't fail
            return self.held(repos, run, step, _error(exc.code, exc.message, number, **exc.details))
        except Exception as exc:  # noqa: BLE001 - any failure of a skill is the step's, recorded
            log.warning("step %s attempt %s failed", step.id, number, exc_info=True)
            code = getattr(exc, "code", None) or ("STEP_TIMEOUT" if "Timeout" in type(exc).__name__
                                                  else "SKILL_ERROR")
            error = _error(code, f"{type(exc).__name__}: {exc}", number)
            return self.failed(repos, run, step, spec, error, retryable=getattr(exc, "retryable", True))
        return self.completed(repos, run, step, spec, candidates, spent, regenerating)

    def execute(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                offset: int) -> tuple[list[dict[str, Any]], "Spent"]:
        skill_class = self.state.registry.skill(step.skill)
        scheduler = self.scheduler(repos, run)
        options = model_options(spec, scheduler.definition.defaults)
        count = spec.candidate_count
        made = []
        spent = Spent()
        for index in range(offset, offset + count):
            model = spec.models[index % len(spec.models)] if spec.models else None
            ctx = EngineStepContext(repos, run, step, self.state.storage, self.events, self.state,
                                    options, candidate_index=index, model=model, on_first_call=self.announce_started)
            if index > offset:  # the first candidate starts right after the run was seen going
                ctx.check_cancelled()
            inputs = input_schema(skill_class).load(step.inputs or {})
            raw = skill_class().run(ctx, inputs)
            schema = output_schema(skill_class)
            try:
                output = schema.dump(schema.load(raw if isinstance(raw, dict) else {"_": raw}))
            except SchemaValidationError as exc:
                raise InvalidOutput(exc.messages) from exc
            spent.add(ctx)
            made.append({"index": index, "model": ctx.model, "output": output, "artifactIds": ctx.artifact_ids,
                         "offline": ctx.offline, "createdAt": utcnow().isoformat()})
        return made, spent

    # Endings ------------------------------------------------------------------------------
    @staticmethod
    def record_attempt(repos: Repositories, step: RunStep, outcome: AttemptOutcome,
                       error: dict[str, Any] | None = None) -> None:
        """Write the row of the attempt that just ended. Called only once the step's move
        succeeded, so an attempt the reconciler already recorded as crashed keeps that record."""
        now = utcnow()
        started = step.attempt_started_at or now
        repos.step_attempts.record(
            run_step_id=step.id, number=step.attempt, outcome=outcome, worker_name=worker_name(), job_id=step.job_id,
            error=error, started_at=started, ended_at=now, duration_ms=int((now - started).total_seconds() * 1000))

    def completed(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                  made: list[dict[str, Any]], spent: "Spent", regenerating: bool) -> dict[str, Any]:
        number = step.attempt
        outcome: dict[str, Any] = {"outcome": "completed"}

        def complete(scheduler: Scheduler, locked: Run) -> None:
            now = utcnow()
            candidates = list(step.candidates or []) + made if regenerating else made
            artifact_ids = sorted({a for c in candidates for a in c["artifactIds"]})
            output = candidates[0]["output"]
            common = dict(candidates=candidates, output_artifact_ids=artifact_ids, ended_at=now,
                          duration_ms=int((now - step.started_at).total_seconds() * 1000) if step.started_at else None,
                          error=None, worker_name=None)
            if locked.status.is_terminal:
                # The run was cancelled or failed while this step worked: keep its output, go no further.
                ending, values = StepStatus.COMPLETED, dict(output=output, **common)
                outcome["outcome"] = "completed_after_run_ended"
            elif spec.select == "user":
                ending, values = StepStatus.AWAITING_SELECTION, common
                outcome["outcome"] = "awaiting_selection"
            else:
                ending, values = StepStatus.COMPLETED, dict(output=output, merged_content=merged_content(output),
                                                            **common)
            if not repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=number, status=ending, **values):
                outcome["outcome"] = "superseded"  # the reconciler gave this attempt up for lost
                return
            self.record_attempt(repos, step, AttemptOutcome.COMPLETED)
            if spec.cache != "off" and not regenerating:
                entry = repos.step_cache.find(scheduler.cache_key(step, spec))
                if entry is not None and entry.owner_step_id == step.id:
                    entry.ready, entry.data, entry.candidates = True, output, candidates
                    entry.artifact_ids, entry.owner_step_id = artifact_ids, None
                    entry.tokens_input, entry.tokens_output = spent.tokens_input, spent.tokens_output
                    entry.cost_usd, entry.model_calls = spent.cost_usd, spent.model_calls
            if locked.status.is_terminal:
                scheduler._count_done(step)
            elif ending == StepStatus.AWAITING_SELECTION:
                scheduler.await_selection(step)
            else:
                scheduler.plan(scheduler.finished(step))
        self.finish(repos, run.id, complete)
        return outcome

    def failed(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec, error: dict[str, Any],
               retryable: bool) -> dict[str, Any]:
        number = step.attempt
        outcome: dict[str, Any] = {"outcome": "failed", "error": error}

        def fail(scheduler: Scheduler, locked: Run) -> None:
            current = repos.run_steps.by_key(run.id, step.step_key)
            # Unless the reconciler already gave this attempt up for lost and moved on.
            if current.status != StepStatus.RUNNING or current.attempt != number:
                outcome["outcome"] = "superseded"
                return
            self.record_attempt(repos, current, AttemptOutcome.FAILED, error)
            if retryable and number < current.max_attempts and not locked.status.is_terminal:
                delay = spec.retry.delay_before(number + 1)
                scheduler.enqueue(current, StepStatus.RUNNING, delay=delay, error=error, worker_name=None)
                scheduler.note("step.retrying", step=step.step_key, attempt=number, delay=delay, error=error)
                outcome["outcome"] = "retrying"
                return
            scheduler.plan(scheduler.fail(current, error))
        self.finish(repos, run.id, fail)
        return outcome

    def held(self, repos: Repositories, run: Run, step: RunStep, error: dict[str, Any]) -> dict[str, Any]:
        """A model call could not be paid for: put the step back to pending (its attempt
        given back) and pause the run with the reason; resuming the run plans it again."""
        outcome: dict[str, Any] = {"outcome": "held", "error": error}

        def hold(scheduler: Scheduler, locked: Run) -> None:
            if not repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=step.attempt, status=StepStatus.PENDING,
                                        attempt=step.attempt - 1, error=error, worker_name=None, job_id=None):
                outcome["outcome"] = "superseded"
                return
            repos.step_cache.release(step.id)
            scheduler.hold_for_payment(step, error)
        self.finish(repos, run.id, hold)
        return outcome

    def waiting(self, repos: Repositories, run: Run, step: RunStep, awaiting: AwaitingGeneration) -> dict[str, Any]:
        """The skill handed its work to a generation job: the step waits without a worker (the
        attempt's row says ``waiting``), and the job's first poll is enqueued after the commit."""
        number = step.attempt
        outcome: dict[str, Any] = {"outcome": "waiting", "generationJobId": str(awaiting.job_id)}
        polls = []

        def wait(scheduler: Scheduler, locked: Run) -> None:
            if locked.status.is_terminal:
                # Cancelled while the job was submitted: the step ends; its poll gives the job up.
                if repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=number, status=StepStatus.SKIPPED,
                                        ended_at=utcnow(), worker_name=None,
                                        error={"code": "CANCELLED", "message": f"The run is {locked.status.value}."}):
                    self.record_attempt(repos, step, AttemptOutcome.CANCELLED)
                    repos.step_cache.release(step.id)
                    scheduler._count_done(step)
                    scheduler.note("step.skipped", step=step.step_key, reason="cancelled")
                outcome["outcome"] = "cancelled"
            elif repos.run_steps.move(step, StepStatus.RUNNING, at_attempt=number, status=StepStatus.WAITING,
                                      worker_name=None):
                self.record_attempt(repos, step, AttemptOutcome.WAITING)
                scheduler.note("step.waiting", step=step.step_key, attempt=number,
                               generationJobId=str(awaiting.job_id), pollIn=awaiting.delay)
            else:
                outcome["outcome"] = "superseded"  # the reconciler gave this attempt up for lost
                return
            poll = schedule_first_poll(repos, awaiting)
            if poll is not None:
                polls.append(poll)
        self.finish(repos, run.id, wait)
        enqueue_polls(self.state, polls)
        return outcome

    def cancelled(self, repos: Repositories, run: Run, step: RunStep, reason: str) -> dict[str, Any]:
        def cancel(scheduler: Scheduler, locked: Run) -> None:
            if repos.run_steps.move(step, StepStatus.RUNNING, status=StepStatus.SKIPPED, ended_at=utcnow(),
                                    error={"code": "CANCELLED", "message": reason}, worker_name=None):
                self.record_attempt(repos, step, AttemptOutcome.CANCELLED)
                repos.step_cache.release(step.id)
                scheduler._count_done(step)
                scheduler.note("step.skipped", step=step.step_key, reason="cancelled")
        self.finish(repos, run.id, cancel)
        return {"outcome": "cancelled"}


__all__ = ["JOB_FUNCTION", "StepExecutor", "dispatch", "new_job_id"]
