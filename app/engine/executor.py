"""The executor: what one RQ job does with one step, ``app.jobs.run_step(step_id)``.

1. **Claim** the step with a conditional UPDATE (queued → running, and still this job's),
   so two workers never run the same attempt and a stale duplicate job does nothing.
2. **Cache**: serve a ready entry; wait for an entry another step is computing; or claim
   the entry, so identical steps racing compute once.
3. **Execute**: run the skill (once per candidate) through a StepContext.
4. **End** under the run's lock: what happened goes to :mod:`app.engine.decisions` as an
   event (completed, failed, cancelled, held, handed over) and the scheduler writes the
   commands — complete or await a person, retry with backoff, or fail — and plans
   whatever became ready, all in one transaction.

Jobs are enqueued and progress published only after that transaction commits.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any, Callable

from flask import current_app, g
from marshmallow import ValidationError as SchemaValidationError
from rq import get_current_job
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..errors import DatabaseUnavailableError, PaymentRequiredError, RepositoryError
from ..extensions import db
from ..models import Run, RunStep, StepCacheEntry, utcnow
from ..repositories import Repositories
from ..repositories.failures import database_unreachable
from ..repositories.records import StepRecord
from ..repositories.runs import RunStepLocator
from ..runtime import InkwrightState, repositories
from ..statuses import StepStatus
from ..workflows.definition import StepSpec
from . import decisions
from .context import EngineStepContext, StepCancelled
from .definitions import RunSnapshot
from .generation.polls import enqueue_polls, schedule_first_poll
from .generation.requests import AwaitingGeneration
from .planner import model_options
from .progress import RunEvents
from .scheduler import AfterCommit, Scheduler, new_job_id, scheduler_for
from .skill_schemas import input_schema, output_schema
from .step_errors import details_of_exception, error_of_exception, step_error

log = logging.getLogger(__name__)

#: Waiting for an unreachable database (before a claim, or to record how an execution
#: ended): the first wait, the longest, and how long in all before the job gives up (then
#: the reconciler queues the step again later).
FIRST_CLAIM_WAIT, LONGEST_CLAIM_WAIT, CLAIM_PATIENCE = 0.5, 10.0, 120.0

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
        now_jobs = [queue.prepare_data(JOB_FUNCTION, args=(str(step_id),), job_id=job_id, at_front=after.at_front,
                                       timeout=timeout or default_timeout, result_ttl=600, failure_ttl=86400)
                    for step_id, job_id, delay, timeout in after.jobs if delay <= 0]
        if now_jobs:
            queue.enqueue_many(now_jobs)
        for step_id, job_id, delay, timeout in after.jobs:
            if delay > 0:
                queue.enqueue_in(timedelta(seconds=delay), JOB_FUNCTION, str(step_id), job_id=job_id,
                                 job_timeout=timeout or default_timeout, result_ttl=600, failure_ttl=86400,
                                 at_front=after.at_front)
    if after.progress:
        RunEvents(state.redis.client()).publish_many(after.progress)


class StepExecutor:
    #: How a job waits for the database to come back (a test puts a recorder here).
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, state: InkwrightState) -> None:
        self.state = state
        clock = getattr(state, "clock", None)
        self.clock = clock.now if clock is not None else utcnow
        self.events = RunEvents(state.redis.client())
        self.pending_started: tuple | None = None

    def scheduler(self, repos: Repositories, run: Run) -> Scheduler:
        return scheduler_for(repos, run, self.state)

    def finish(self, repos: Repositories, run_id: uuid.UUID, change, step: Any = None) -> AfterCommit:
        """Run ``change(scheduler, run)`` under the run's lock in one transaction; dispatch after.

        While the database cannot be reached the transaction is tried again (it was undone
        whole, so ``change`` must only write through the scheduler): an execution that has
        done its work is recorded once the database is back, not lost and charged for.

        ``step``, the claimed step's record, starts every try as the claim left it. The
        scheduler tells a record the values it wrote as they are written; when the database
        goes away between the step's UPDATE and the commit, the UPDATE is undone but the
        record kept them, and the next try would take the step for already moved (by the
        reconciler, say) and leave it running with no job: judged lost a moment later."""
        claimed = dict(vars(step)) if isinstance(step, StepRecord) else None

        def transaction() -> Scheduler:
            if claimed is not None:
                vars(step).clear()
                vars(step).update(claimed)
            try:
                with repos.transaction(), repos.runs.locked(run_id) as run:
                    scheduler = self.scheduler(repos, run)
                    change(scheduler, run)
            except SQLAlchemyError as raw:
                # A statement outside the repositories' operations: the same outage, waited
                # out the same way, not a failed job that strands its step.
                if database_unreachable(raw):
                    raise DatabaseUnavailableError("finish", "Run", raw) from raw
                raise
            return scheduler
        scheduler = self.while_the_database_is_away(transaction, f"run {run_id}")
        if self.pending_started is not None:
            scheduler.after.progress.insert(0, self.pending_started)
            self.pending_started = None
        dispatch(self.state, scheduler.after)
        return scheduler.after

    # The job ------------------------------------------------------------------------------
    def run(self, step_id: str) -> dict[str, Any]:
        """Run the job, holding it while the database cannot be reached before its claim:
        the worker then takes no other job (it does not drain the queue into failures), and
        the job is not dropped; it is claimed once the database is back."""
        tries = []

        def attempt() -> dict[str, Any]:
            tries.append(1)
            return self._run(step_id, resuming=len(tries) > 1)
        return self.while_the_database_is_away(attempt, f"step {step_id}", before_claim=True)

    def while_the_database_is_away(self, work: Callable[[], Any], what: str, before_claim: bool = False) -> Any:
        """``work()``, done again with backoff while it fails for want of the database (up to
        ``CLAIM_PATIENCE`` seconds in all). ``before_claim``: only failures that changed
        nothing (``error.before_claim``) are tried again."""
        waited, wait = 0.0, FIRST_CLAIM_WAIT
        while True:
            try:
                return work()
            except DatabaseUnavailableError as error:
                if (before_claim and not error.before_claim) or waited >= CLAIM_PATIENCE:
                    raise
                log.warning("%s: the database cannot be reached; trying again in %.1f s", what, wait)
                self.sleep(wait)
                waited += wait
                wait = min(wait * 2, LONGEST_CLAIM_WAIT)

    def _run(self, step_id: str, resuming: bool = False) -> dict[str, Any]:
        job = get_current_job()
        job_id = job.id if job else None
        # A job's session is its own and short: what it loaded stays valid after each of its
        # commits (the run itself is re-read under its lock), so nothing is re-fetched.
        db.session().expire_on_commit = False
        claimer = repositories()
        try:
            with claimer.transaction():
                locator = claimer.get(RunStepLocator)
                step = locator.claim(step_id, job_id, worker_name(), now=self.clock())
                if step is None and resuming:
                    # The claim commits by itself: an earlier try may have taken the step before
                    # the database went away. Then it is ours, at the attempt that claim began.
                    step = locator.held_by(step_id, job_id, worker_name())
                if step is None:
                    # Not this job's to run: a stale duplicate, a cancelled run's step, or gone.
                    return {"outcome": "not_claimed"}
                repos = repositories(step.tenant_id)
                run = self.state.definitions.snapshot(repos.runs, step.run_id)
                spec = self.scheduler(repos, run).spec(step)
                regenerating = bool(step.candidates)
                cache = self.claim_cache(repos, run, step, spec) if spec.cache != "off" and not regenerating else None
        except DatabaseUnavailableError as error:
            # Nothing past the claim was written (its transaction was undone), and the claim
            # itself, if it took, is taken up again by the next try (held_by): try again.
            error.before_claim = True
            raise
        except RepositoryError as error:
            if not isinstance(error.cause, IntegrityError):
                raise
            # An identical step claimed the cache entry at the same moment: the entry is not
            # ours (that transaction is undone), the step is (its claim committed on its own);
            # give its attempt back and look again later.
            return self.wait_for_cache(repos, run, step)
        if cache is not None and cache.ready:
            return self.serve_from_cache(repos, run, step, spec, cache)
        if cache is not None:
            return self.wait_for_cache(repos, run, step)
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
        stale_before = self.clock() - timedelta(seconds=current_app.config["STEP_STALE_AFTER"])
        if entry is not None and entry.owner_step_id != step.id and \
                repos.step_cache.owner_at_work(entry, stale_before):
            return entry
        if entry is not None:  # our own claim from an earlier attempt, or a crashed step's
            entry.owner_step_id, entry.claimed_at = step.id, self.clock()
            repos.step_cache.save(entry)
        else:
            repos.step_cache.add(StepCacheEntry(
                cache_key=key, workflow_name=run.workflow_name, step_id=spec.id, input_hash=step.input_hash,
                scope=spec.cache, root_run_id=run.root_run_id if spec.cache == "run_only" else None,
                ready=False, owner_step_id=step.id, claimed_at=self.clock()))
        return None

    def serve_from_cache(self, repos: Repositories, run: RunSnapshot, step: RunStep, spec: StepSpec,
                         entry: Any) -> dict[str, Any]:
        # Served, not executed: the attempt and execution the claim counted are given back.
        def serve(scheduler: Scheduler, locked: Run) -> None:
            scheduler.plan(scheduler.serve_from_cache(step, spec, entry, expected=StepStatus.RUNNING,
                                                      attempt=step.attempt - 1, executions=step.executions - 1))
        self.finish(repos, run.id, serve, step)
        return {"outcome": "cache_hit"}

    def wait_for_cache(self, repos: Repositories, run: RunSnapshot, step: RunStep) -> dict[str, Any]:
        """Look again a little later, with a new (delayed) job; the claimed step gives its
        attempt (and execution) back."""
        delay = current_app.config["CACHE_WAIT"]

        def requeue(scheduler: Scheduler, locked: Run) -> None:
            if locked.status.is_terminal:
                return
            scheduler.enqueue(step, StepStatus.RUNNING, delay=delay, attempt=step.attempt - 1,
                              executions=step.executions - 1, worker_name=None)
            scheduler.note("step.waiting_for_cache", step=step.step_key, delay=delay)
        self.finish(repos, run.id, requeue, step)
        return {"outcome": "waiting_for_cache"}

    # Execution ----------------------------------------------------------------------------
    def attempt(self, repos: Repositories, run: Run, step: RunStep, spec: StepSpec,
                regenerating: bool) -> dict[str, Any]:
        """Run the skill once per candidate, then end the execution as the decisions say."""
        execution = step.executions
        now = self.clock()
        try:
            candidates, spent = self.execute(repos, run, step, spec, offset=len(step.candidates or []))
        except StepCancelled as exc:
            return self.end(repos, run, step, decisions.Cancelled(execution, str(exc)), outcome="cancelled")
        except AwaitingGeneration as awaiting:
            return self.hand_over(repos, run, step, awaiting)
        except InvalidOutput as exc:
            error = step_error("INVALID_OUTPUT", str(exc), now, attempt=step.attempt, fields=exc.messages)
            return self.end(repos, run, step, decisions.Failed(execution, error, spec.retry.on_invalid_output),
                            outcome="failed", error=error)
        except DatabaseUnavailableError as exc:
            # The infrastructure cut the execution short, not the skill: it goes back to the
            # queue with its attempt given back, once the database can record that.
            log.warning("step %s execution %s interrupted: the database cannot be reached", step.id, execution)
            error = step_error(exc.code, "The database could not be reached while the step ran; it runs again, "
                               "and this attempt is not charged.", now, attempt=step.attempt)
            return self.end(repos, run, step, decisions.Interrupted(execution, error), outcome="interrupted",
                            error=error)
        except PaymentRequiredError as exc:  # no credits, or the run's budget: pause, don't fail
            error = step_error(exc.code, exc.message, now, attempt=step.attempt, **exc.details)
            return self.end(repos, run, step, decisions.Held(execution, error), outcome="held", error=error)
        except Exception as exc:  # noqa: BLE001 - any failure of a skill is the step's, recorded
            log.warning("step %s execution %s failed", step.id, execution, exc_info=True)
            code, message = error_of_exception(exc)
            error = step_error(code, message, now, attempt=step.attempt, **details_of_exception(exc))
            # A model call that spent its one retry budget is not tried all over again by
            # the step: transport and step retries would multiply (issue 12).
            retryable = getattr(exc, "retryable", True) and not getattr(exc, "call_budget_spent", False)
            return self.end(repos, run, step, decisions.Failed(execution, error, retryable),
                            outcome="failed", error=error)
        return self.end(repos, run, step, decisions.Completed(execution), outcome="completed",
                        made=candidates, spent=spent)

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
            made.append({"index": index, "model": ctx.written_by, "output": output, "artifactIds": ctx.artifact_ids,
                         "offline": ctx.offline, "createdAt": self.clock().isoformat()})
        return made, spent

    # Endings ------------------------------------------------------------------------------
    def end(self, repos: Repositories, run: Run, step: RunStep, event: decisions.StepEvent, outcome: str,
            **facts: Any) -> dict[str, Any]:
        """The one end of an execution: under the run's lock, the step as it is now and the
        event go to the decisions, and the scheduler writes what they say."""
        result: dict[str, Any] = {"outcome": outcome}
        if "error" in facts:
            result["error"] = facts.pop("error")

        def end_execution(scheduler: Scheduler, locked: Run) -> None:
            # The step as claimed: every move is conditional on its still being at this
            # execution, so a step the reconciler meanwhile gave up for lost is left alone.
            commands = scheduler.on_event(step, event, **facts)
            result["outcome"] = describe(commands, outcome, locked)
        self.finish(repos, run.id, end_execution, step)
        return result

    def hand_over(self, repos: Repositories, run: Run, step: RunStep, awaiting: AwaitingGeneration) -> dict[str, Any]:
        """The skill handed its work to a generation job: the step waits without a worker (the
        execution's row says ``waiting``), and the job's first poll is enqueued after the commit."""
        result: dict[str, Any] = {"outcome": "waiting", "generationJobId": str(awaiting.job_id)}
        polls = []

        def wait(scheduler: Scheduler, locked: Run) -> None:
            polls.clear()  # a transaction tried again starts afresh
            commands = scheduler.on_event(step, decisions.HandedOver(step.executions), note={
                "generationJobId": str(awaiting.job_id), "pollIn": awaiting.delay})
            result["outcome"] = describe(commands, "waiting", locked)
            if result["outcome"] == "superseded":
                return
            # A cancelled run's step ended here; its poll gives the job up.
            poll = schedule_first_poll(repos, awaiting)
            if poll is not None:
                polls.append(poll)
        self.finish(repos, run.id, wait, step)
        enqueue_polls(self.state, polls)
        return result


def describe(commands: list[decisions.Command], outcome: str, run: Run) -> str:
    """What the job reports of an execution's end (RQ keeps it as the job's result)."""
    first = commands[0] if commands else None
    if isinstance(first, decisions.Superseded):
        return "superseded"  # the reconciler gave this execution up for lost
    if isinstance(first, decisions.EndExecution):
        if first.status == StepStatus.QUEUED:
            return "retrying"
        if first.status == StepStatus.AWAITING_SELECTION and outcome == "completed":
            return "awaiting_selection"
        if outcome == "completed" and run.status.is_terminal:
            return "completed_after_run_ended"
        if outcome == "waiting" and first.status == StepStatus.SKIPPED:
            return "cancelled"
    return outcome


__all__ = ["JOB_FUNCTION", "StepExecutor", "dispatch", "new_job_id"]
