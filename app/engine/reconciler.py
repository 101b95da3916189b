"""The reconciler: no run stays "running" forever.

The database says what should be happening; Redis may disagree after a worker died or
Redis lost its data. Each pass:

* a running step whose worker stopped heartbeating lost its attempt: it is queued again
  while attempts remain, else it fails with ``WORKER_LOST`` and its run ends ``crashed``
  (unless its worker still beats its job in Redis: then only the database stamp is late,
  see ``job_beats.py``);
* a queued step whose RQ job is gone (Redis flushed, or the job failed outside our code)
  gets a fresh job;
* a run left running with nothing active is planned again, or finished;
* unfinished step-cache claims of steps that died are dropped;
* a generation job whose poll is long overdue (Redis flushed, the poll job lost) is polled
  again; one past its timeout is timed out, one whose run ended is given up;
* a credit reservation past its expiry (its call's worker died before settling) is given
  back to the balance.

It runs as the periodic job ``app.jobs.reconcile`` and as ``flask inkwright reconcile``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from rq.job import Job, JobStatus

from ..models import GenerationJob, Run, RunStep, utcnow
from ..repositories.generation_jobs import GenerationJobLocator
from ..repositories.runs import RunLocator, RunStepLocator, StepCacheJanitor
from ..runtime import InkwrightState, repositories
from ..statuses import RunStatus, StepStatus
from . import decisions, job_beats
from .executor import dispatch
from .generation.poller import GenerationPoller
from .generation.polls import deadline_of
from .scheduler import Scheduler, scheduler_for

log = logging.getLogger(__name__)

LIVE_JOB_STATES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

@dataclass
class ReconcileReport:
    requeued_lost_workers: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    requeued_lost_jobs: list[str] = field(default_factory=list)
    replanned_runs: list[str] = field(default_factory=list)
    dropped_cache_claims: int = 0
    #: Generation jobs (by id) polled again, timed out, and given up.
    requeued_polls: list[str] = field(default_factory=list)
    timed_out_generations: list[str] = field(default_factory=list)
    abandoned_generations: list[str] = field(default_factory=list)
    #: Credit reservations whose call never settled (its worker died) given back.
    released_credit_holds: int = 0

    def as_dict(self) -> dict:
        return {"requeuedLostWorkers": self.requeued_lost_workers, "crashed": self.crashed,
                "requeuedLostJobs": self.requeued_lost_jobs, "replannedRuns": self.replanned_runs,
                "droppedCacheClaims": self.dropped_cache_claims, "requeuedPolls": self.requeued_polls,
                "timedOutGenerations": self.timed_out_generations,
                "abandonedGenerations": self.abandoned_generations,
                "releasedCreditHolds": self.released_credit_holds}


class Reconciler:
    def __init__(self, state: InkwrightState, stale_after: float, grace: float = 2.0) -> None:
        self.state = state
        clock = getattr(state, "clock", None)
        self.now = clock.now if clock is not None else utcnow
        self.stale_after = stale_after
        self.grace = grace

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        now = self.now()
        locator = repositories().get(RunStepLocator)
        for step in locator.stale_running(now - timedelta(seconds=self.stale_after)):
            self._lost_worker(step, report)
        for step in locator.queued(now - timedelta(seconds=self.grace)):
            self._lost_job(step, report)
        for run in repositories().get(RunLocator).unfinished(now - timedelta(seconds=self.grace)):
            self._stuck_run(run, report)
        for job, step_status, run_status in repositories().get(GenerationJobLocator).unfinished():
            self._generation(job, step_status, run_status, report)
        janitor = repositories().get(StepCacheJanitor)
        with repositories().transaction():
            report.dropped_cache_claims = janitor.drop_stale_claims(now - timedelta(seconds=self.stale_after))
        with repositories().transaction():
            report.released_credit_holds = repositories().credit_accounts.release_expired(now)
        job_beats.forget_before(self.state.redis.client(), now.timestamp() - job_beats.FORGET_AFTER_SECONDS)
        return report

    def _locked(self, step: RunStep, change) -> None:
        repos = repositories(step.tenant_id)
        with repos.transaction(), repos.runs.locked(step.run_id) as run:
            current = repos.get(RunStepLocator).find(step.id)
            scheduler = scheduler_for(repos, run, self.state)
            scheduler.after.at_front = True  # a recovery: ahead of the queue, not behind it
            change(scheduler, run, current)
        dispatch(self.state, scheduler.after)

    def _lost_worker(self, step: RunStep, report: ReconcileReport) -> None:
        stale_before = self.now() - timedelta(seconds=self.stale_after)

        def recover(scheduler: Scheduler, run: Run, current: RunStep) -> None:
            if current is None or current.status != StepStatus.RUNNING or \
                    (current.heartbeat_at is not None and current.heartbeat_at >= stale_before):
                return  # it moved on, or its worker came back
            beaten_at = job_beats.last_beat(self.state.redis.client(), current.job_id)
            if beaten_at is not None and beaten_at >= stale_before.timestamp():
                # Its worker says in Redis that it executes the step: only its database stamp
                # is late (the database was away, or is slow to take it). It is alive.
                log.info("step %s: its database heartbeat is late but its worker beats it in Redis", current.id)
                return
            # What the judgement rested on goes with it: an operator (or a test) reading a
            # WORKER_LOST can tell a dead worker from a late or missing beat.
            error = scheduler.error("WORKER_LOST", f"Worker {current.worker_name} stopped answering during "
                                    f"attempt {current.attempt}.", attempt=current.attempt, jobId=current.job_id,
                                    heartbeatAt=current.heartbeat_at.isoformat() if current.heartbeat_at else None,
                                    lastBeatInRedis=beaten_at, staleBefore=stale_before.timestamp())
            run_had_ended = run.status.is_terminal
            commands = scheduler.on_event(current, decisions.Lost(error))
            first = commands[0]
            if isinstance(first, decisions.EndExecution) and first.status == StepStatus.QUEUED:
                report.requeued_lost_workers.append(current.step_key)
            elif not run_had_ended:
                report.crashed.append(current.step_key)
        self._locked(step, recover)

    def _lost_job(self, step: RunStep, report: ReconcileReport) -> None:
        connection = self.state.redis.client()
        if step.job_id and Job.exists(step.job_id, connection=connection):
            status = Job(step.job_id, connection=connection).get_status(refresh=True)
            if status in LIVE_JOB_STATES:
                return

        def requeue(scheduler: Scheduler, run: Run, current: RunStep) -> None:
            if current is None or current.status != StepStatus.QUEUED or current.job_id != step.job_id:
                return
            if run.status.is_terminal:
                return
            delay = max(0.0, (current.next_attempt_at - self.now()).total_seconds()) if current.next_attempt_at else 0.0
            scheduler.enqueue(current, StepStatus.QUEUED, delay=delay)
            report.requeued_lost_jobs.append(current.step_key)
        self._locked(step, requeue)

    def _generation(self, job: GenerationJob, step_status: StepStatus | None, run_status: RunStatus | None,
                    report: ReconcileReport) -> None:
        if job.run_id is None:
            return  # a row no run owns: nothing to wake, and no lock to take
        now = self.now()
        grace = timedelta(seconds=self.stale_after)
        ended = run_status is None or run_status.is_terminal or step_status is None or step_status.is_terminal
        if not ended and step_status != StepStatus.WAITING:
            return  # its step runs again: the passes above look after it
        expired = now >= deadline_of(job) + grace
        overdue = job.next_poll_at is None or job.next_poll_at < now - grace
        if not (ended or expired or overdue):
            return
        if not (ended or expired) and self._alive(job.poll_job_id):
            return  # scheduled, and a worker's scheduler will enqueue it
        outcome = GenerationPoller(self.state, dispatch).reconcile(job)
        found = {"requeued": report.requeued_polls, "timed_out": report.timed_out_generations,
                 "abandoned": report.abandoned_generations}.get(outcome)
        if found is not None:
            found.append(str(job.id))

    def _alive(self, job_id: str | None) -> bool:
        connection = self.state.redis.client()
        return bool(job_id) and Job.exists(job_id, connection=connection) and \
            Job(job_id, connection=connection).get_status(refresh=True) in LIVE_JOB_STATES

    def _stuck_run(self, run: Run, report: ReconcileReport) -> None:
        repos = repositories(run.tenant_id)
        with repos.transaction(), repos.runs.locked(run.id) as locked:
            if locked.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
                return
            active = [row for row in repos.run_steps.active(run.id) if row.status != StepStatus.PENDING]
            if active:
                return
            scheduler = scheduler_for(repos, locked, self.state)
            if locked.status == RunStatus.QUEUED:
                scheduler.move_run(RunStatus.RUNNING)
            ready = repos.run_steps.list(RunStep.run_id == run.id, RunStep.status == StepStatus.PENDING,
                                         RunStep.waiting_on <= 0)
            scheduler.plan(ready)
            scheduler.finish_run_if_done()
            report.replanned_runs.append(str(run.id))
        dispatch(self.state, scheduler.after)


__all__ = ["ReconcileReport", "Reconciler"]
