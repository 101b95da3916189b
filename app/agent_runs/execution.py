"""One try of an agent run on a worker; its retries; and rule 3's sweep.

A try moves the run ``queued → running`` (recording the first start), reads the subject's
content, lets the agent review it, and writes the results. What can end a try:

* the person cancels, or five minutes pass since the first start (rule 3): ``canceled``;
* a call cannot be paid for (``PAYMENT_REQUIRED`` and its kin): ``failed``, at once;
* a provider or the database fails in a way worth trying again: back to ``queued`` with
  ``retry_count + 1`` and a backoff, while ``retry_count < max_retries``, else ``failed``;
* the worker is lost: RQ hands the job back; the next try finds the run ``running`` and
  counts the lost try as a retry;
* anything else is a bug in the agent: ``failed`` with its message, logged.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app

from ..errors import AppError, PaymentRequiredError
from ..events import DomainEvent
from ..models import AgentRun, AgentRunStatus
from ..repositories import Repositories, as_uuid
from ..repositories.agent_runs import AgentRunRepository, AgentRunSweep
from ..runtime import InkwrightState, current_state, repositories
from .context import AgentContext, AgentRunStopped, AgentRunTimedOut, deadline_of
from .results import CallTotals, build_results, id_prefix
from .service import AgentRunService, agent_class
from .subjects import subject_kind

log = logging.getLogger(__name__)

#: Seconds before retry N (1-based): a provider that failed is given a moment to recover.
BACKOFF = (2.0, 10.0, 30.0)
COMPLETED_EVENT = "agent.run.completed"


class AgentRunTry:
    """:param inline: the try runs inside something with its own retries (a workflow step):
        a retryable failure fails the agent run rather than queueing a retry of its own."""

    def __init__(self, repos: Repositories, state: InkwrightState, *, inline: bool = False) -> None:
        self.repos = repos
        self.state = state
        self.inline = inline
        self.runs = repos.get(AgentRunRepository)
        self.service = AgentRunService(repos, state)

    def now(self):
        return self.state.clock.now()

    def run(self, run_id: Any) -> str:
        """Make one try; the status the run was left in."""
        with self.repos.transaction():
            run = self.runs.get(as_uuid(run_id))
            if run is None:
                return "missing"
            if run.status == AgentRunStatus.RUNNING:
                # The previous try's worker was lost mid-review: that try counts as a retry.
                if not self._requeue_or_fail(run, "WORKER_LOST", "The worker running the agent was lost."):
                    return run.status.value
            if run.status != AgentRunStatus.QUEUED:
                return run.status.value  # canceled, or finished by a duplicate job
            now = self.now()
            deadline = deadline_of(run, current_app.config["AGENT_RUN_TIMEOUT"])
            if deadline is not None and now >= deadline:
                self._finish_canceled(run, AgentRunTimedOut.code, "The run was unfinished five minutes after it "
                                                                  "first started, and was canceled.")
                return run.status.value
            if not self.runs.move(run, AgentRunStatus.RUNNING, now, started_at=run.started_at or now):
                return run.status.value
        return self._review(run)

    def _review(self, run: AgentRun) -> str:
        try:
            agent = agent_class(self.state, run.agent_type)()
            kind = subject_kind(self.state.registry, run.subject_kind)
            subject = kind.find(self.repos, str(run.project_id), None, None)
            if subject is None:
                raise AppError("The subject of this run no longer exists.")
            content = kind.content(self.repos, subject, run.trigger_ref, list(run.context.get("changed") or []),
                                   run.agent_type)
            content["subject"] = {"kind": subject.kind, "id": subject.id, "name": subject.name, "type": subject.type,
                                  "genre": subject.genre, "language": subject.language}
            if run.context.get("model"):  # asked for this run: over the subject's setting
                content["settings"] = {**(content.get("settings") or {}), "model": run.context["model"]}
            files = list(content.get("files") or [])
            self.repos.transaction().end_read()  # nothing stays open while the agent works
            ctx = AgentContext(self.repos, self.state, run, len(files), (content.get("settings") or {}).get("model"))
            report = agent.review(ctx, content)
        except (AgentRunStopped, AgentRunTimedOut) as stopped:
            return self._stopped(run, stopped)
        except PaymentRequiredError as unpaid:
            return self._fail(run, unpaid.code, unpaid.message)
        except AppError as error:
            if error.retryable and not self.inline:
                return self._retry(run, error.code, error.message)
            return self._fail(run, error.code, error.message)
        except Exception as error:  # noqa: BLE001 - an agent's bug fails its run, not the worker
            log.exception("agent %s failed on run %s", run.agent_type, run.id)
            return self._fail(run, "AGENT_FAILED", f"The {run.agent_type} agent failed: {error}"[:2000])
        use = CallTotals(ctx.models_called[-1] if ctx.models_called else None, ctx.tokens_used, ctx.cost_usd)
        built = build_results(run.agent_type, id_prefix(run.agent_type, agent.id_prefix), report, files, use)
        now = self.now()
        with self.repos.transaction() as unit:
            context = {**run.context, "files_analyzed": len(files), "discarded_findings": built.discarded,
                       "ref": content.get("ref"), "settings": content.get("settings") or {}}
            if not self.runs.move(run, AgentRunStatus.COMPLETED, now, results=built.results, summary=built.summary,
                                  issues_found=built.issues_found, severity_breakdown=built.severity_breakdown,
                                  context=context, completed_at=now, duration_seconds=_seconds(run, now)):
                return run.status.value  # canceled meanwhile: the cancel stands
            unit.publish(DomainEvent(type=COMPLETED_EVENT, aggregate_id=str(run.id), tenant_id=run.tenant_id,
                                     actor_id=run.user_id, payload={
                                         "agentRunId": str(run.id), "agentType": run.agent_type,
                                         "subjectKind": run.subject_kind, "subjectId": str(run.project_id),
                                         "issuesFound": built.issues_found,
                                         "severityBreakdown": built.severity_breakdown}))
            self._notify(run, built.summary, kind.report_url(subject, str(run.id)))
        return run.status.value

    def _notify(self, run: AgentRun, summary: str, report_url: str | None) -> None:
        from ..notifications import write_notification
        from ..runtime import mailer

        write_notification(self.repos, self.now(), run.user_id, "agent_complete",
                           f"The {run.agent_type} review is ready", summary, mailer=mailer(),
                           related_entity_type="agent_run", related_entity_id=str(run.id),
                           action_url=report_url or f"/api/agent-runs/{run.id}", action_label="Open the report",
                           tenant_id=run.tenant_id)

    # Endings ------------------------------------------------------------------------------
    def _stopped(self, run: AgentRun, stopped: AppError) -> str:
        with self.repos.transaction():
            if isinstance(stopped, AgentRunTimedOut):
                self._finish_canceled(run, stopped.code, stopped.message)  # unless it was canceled first
            else:
                self.repos.session.refresh(run)  # canceled by a person: their cancel is the record
        return run.status.value

    def _finish_canceled(self, run: AgentRun, code: str, message: str) -> None:
        now = self.now()
        self.runs.move(run, AgentRunStatus.CANCELED, now, completed_at=now, error_code=code, error_message=message,
                       duration_seconds=_seconds(run, now))

    def _fail(self, run: AgentRun, code: str, message: str) -> str:
        now = self.now()
        with self.repos.transaction():
            self.runs.move(run, AgentRunStatus.FAILED, now, completed_at=now, error_code=code,
                           error_message=message[:2000], duration_seconds=_seconds(run, now))
        return run.status.value

    def _retry(self, run: AgentRun, code: str, message: str) -> str:
        with self.repos.transaction():
            again = self._requeue_or_fail(run, code, message)
        if again:
            self.service.enqueue(run, delay=BACKOFF[min(run.retry_count, len(BACKOFF)) - 1])
        return run.status.value

    def _requeue_or_fail(self, run: AgentRun, code: str, message: str) -> bool:
        """In the caller's transaction: back to ``queued`` for another try while retries are
        left (whether it went back), else ``failed``."""
        now = self.now()
        if run.retry_count >= run.max_retries:
            self.runs.move(run, AgentRunStatus.FAILED, now, completed_at=now, error_code=code,
                           error_message=f"{message} (after {run.retry_count} retries)"[:2000],
                           duration_seconds=_seconds(run, now))
            return False
        retry = run.retry_count + 1
        return self.runs.move(run, AgentRunStatus.QUEUED, now, retry_count=retry, error_code=code,
                              error_message=message[:2000], job_id=f"agent-run-{run.id}-{retry}")


def _seconds(run: AgentRun, now) -> int | None:
    return int((now - run.started_at).total_seconds()) if run.started_at else None


def run_agent_try(tenant_id: str, run_id: str) -> str:
    """The job: one try of one run (``app.jobs.run_agent``)."""
    return AgentRunTry(repositories(as_uuid(tenant_id)), current_state()).run(run_id)


def sweep(now=None) -> dict[str, int]:
    """The reconciler's pass: cancel runs past rule 3's limit, and queue again runs still
    queued a minute after they were made whose job Redis no longer has."""
    from rq.job import Job

    state = current_state()
    now = now or state.clock.now()
    timeout = timedelta(seconds=current_app.config["AGENT_RUN_TIMEOUT"])
    sweep_repo = repositories().get(AgentRunSweep)
    canceled = requeued = 0
    for tenant_id, run_id in sweep_repo.unfinished_since(now - timeout):
        service = AgentRunService(repositories(tenant_id), state)
        try:
            service.cancel(run_id, AgentRunTimedOut.code,
                           "The run was unfinished five minutes after it first started, and was canceled.")
            canceled += 1
        except AppError:
            continue  # finished meanwhile
    connection = state.redis.client()
    for tenant_id, run_id in sweep_repo.queued_before(now - timedelta(minutes=1)):
        repos = repositories(tenant_id)
        run = repos.get(AgentRunRepository).get(run_id)
        if run is None or run.status != AgentRunStatus.QUEUED or (run.job_id and Job.exists(run.job_id, connection)):
            continue
        AgentRunService(repos, state).enqueue(run)
        requeued += 1
    repositories().transaction().end_read()
    return {"canceled": canceled, "requeued": requeued}
