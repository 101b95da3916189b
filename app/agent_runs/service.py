"""Starting, reading and canceling agent runs: what the API, the CLI and plugins call.

A run is written ``queued`` and its job put on the queue of its priority only after the
commit, so a worker never looks for a row that is not there yet. Should Redis lose the job,
the reconciler finds the run still queued and queues it again (``execution.sweep``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Iterable

from ..agent import Agent, AgentSubject
from ..auth.principal import Principal
from ..engine.model_check import ModelUse, check_models
from ..errors import NotFoundError, ValidationError
from ..models import AgentRun, AgentRunStatus, AgentTrigger
from ..queue import make_queue
from ..repositories import Repositories, as_uuid
from ..repositories.agent_runs import AgentRunRepository
from ..runtime import InkwrightState, current_state, repositories
from .queues import queue_for_priority
from .subjects import subject_kind

JOB_FUNCTION = "app.jobs.run_agent"
#: A try's own limit on a worker; rule 3's five minutes are watched by the run itself.
JOB_TIMEOUT = 900


def agent_class(state: InkwrightState, agent_type: str) -> type[Agent]:
    """:raises ValidationError: for an agent no installed plugin provides."""
    found = state.registry.agents.get(agent_type)
    if found is None:
        known = ", ".join(sorted(state.registry.agents)) or "none is installed"
        raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                              {"fields": {"agentType": [f"No agent named {agent_type!r}; installed: {known}."]}})
    return found


def check_priority(priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 10:
        raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                              {"fields": {"priority": ["A whole number from 1 (low) to 10 (urgent)."]}})
    return priority


class AgentRunService:
    def __init__(self, repos: Repositories, state: InkwrightState, principal: Principal | None = None) -> None:
        self.repos = repos
        self.state = state
        self.principal = principal
        self.runs = repos.get(AgentRunRepository)

    # Starting -----------------------------------------------------------------------------
    def subject(self, kind: str, subject_id: Any, permission: str | None = "can_run_agents") -> AgentSubject:
        """:raises NotFoundError: when the subject does not exist for this caller."""
        found = subject_kind(self.state.registry, kind).find(self.repos, str(subject_id), self.principal, permission)
        if found is None:
            raise NotFoundError(f"No {kind} with id {subject_id} here.", {"subjectId": str(subject_id)})
        return found

    def start(self, *, subject_kind: str, subject_id: Any, agent_type: str,
              trigger: AgentTrigger | str = AgentTrigger.MANUAL, trigger_ref: str | None = None, priority: int = 5,
              changed: Iterable[str] = (), user_id: Any = None, inputs: dict[str, Any] | None = None,
              model: str | None = None, enqueue: bool = True) -> AgentRun:
        """Queue a run of ``agent_type`` over the subject.

        :param user_id: who the run is for and who pays; the signed-in caller by default, the
            subject's owner for a push or a schedule.
        :param model: the model the agent's calls use, over the subject's setting for it.
        :param enqueue: put its job on the queue (the caller makes the try itself otherwise).
        :raises ValidationError: for an unknown agent, kind, trigger or a priority outside 1-10.
        :raises RunModelUnknownError: for a model no provider serves (``UNKNOWN_MODEL``, 422).
        :raises NotFoundError: when the subject is not the caller's to review.
        """
        agent_class(self.state, agent_type)
        priority = check_priority(priority)
        if model:
            check_models(self.state.models, [ModelUse(model, "model", "field model")])
        try:
            trigger = AgentTrigger(trigger)
        except ValueError:
            raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                                  {"fields": {"trigger": [f"Not one of: {', '.join(t.value for t in AgentTrigger)}."]}}) \
                from None
        # A person must be allowed to run agents on the subject; the platform itself (a push
        # already authorised, a schedule) acts for the tenant and is not asked.
        subject = self.subject(subject_kind, subject_id, "can_run_agents" if self.principal else None)
        payer = as_uuid(user_id) or (self.principal.user_id if self.principal else None) or as_uuid(subject.owner_id)
        if payer is None:
            raise ValidationError("An agent run needs a person to run for.", {"fields": {"userId": ["Required."]}})
        run_id, now = uuid.uuid4(), self.state.clock.now()
        with self.repos.transaction():
            run = self.runs.add(AgentRun(
                id=run_id, created_at=now, updated_at=now, subject_kind=subject.kind, project_id=as_uuid(subject.id), user_id=payer,
                agent_type=agent_type, trigger=trigger, trigger_ref=trigger_ref, priority=priority,
                status=AgentRunStatus.QUEUED, context={"changed": sorted(set(changed)), "inputs": dict(inputs or {}),
                         **({"model": model} if model else {})},
                max_retries=3, job_id=f"agent-run-{run_id}-0" if enqueue else None))
        if enqueue:
            self.enqueue(run)
        return run

    def enqueue(self, run: AgentRun, delay: float = 0.0) -> None:
        """Put the run's current try on the queue of its priority (after the commit)."""
        queue = make_queue(self.state.redis.client(), queue_for_priority(self.state.queue_name, run.priority))
        options = dict(job_id=run.job_id, job_timeout=JOB_TIMEOUT, result_ttl=3600, failure_ttl=86400)
        if delay > 0:
            queue.enqueue_in(timedelta(seconds=delay), JOB_FUNCTION, str(run.tenant_id), str(run.id), **options)
        else:
            queue.enqueue(JOB_FUNCTION, str(run.tenant_id), str(run.id), **options)

    # Reading ------------------------------------------------------------------------------
    def get(self, run_id: Any) -> AgentRun:
        """:raises NotFoundError: for a run that is not this tenant's."""
        return self.runs.require(run_id)

    def page(self, **filters: Any) -> tuple[list[AgentRun], int]:
        return self.runs.newest(**filters)

    # Canceling ----------------------------------------------------------------------------
    def cancel(self, run_id: Any, code: str = "CANCELED", message: str = "Canceled.") -> AgentRun:
        """Cancel a queued or running run; a running agent stops at its next check.

        :raises IllegalTransitionError: for a run already finished (409).
        """
        now = self.state.clock.now()
        with self.repos.transaction():
            run = self.runs.require(run_id)
            moved = self.runs.move(run, AgentRunStatus.CANCELED, now, completed_at=now, error_code=code,
                                   error_message=message, duration_seconds=_seconds(run, now))
            if not moved:  # a worker moved it first: judge again from what it is now
                self.runs.move(run, AgentRunStatus.CANCELED, now, completed_at=now, error_code=code,
                               error_message=message, duration_seconds=_seconds(run, now))
        if run.job_id:
            try:
                make_queue(self.state.redis.client(), queue_for_priority(self.state.queue_name, run.priority)) \
                    .remove(run.job_id)
            except Exception:  # noqa: BLE001 - a job left queued finds the run canceled and stops
                pass
        return run


def _seconds(run: AgentRun, now) -> int | None:
    return int((now - run.started_at).total_seconds()) if run.started_at else None


def agent_run_service(tenant_id: Any = None, principal: Principal | None = None) -> AgentRunService:
    """The service for this request's or job's tenant."""
    from ..auth.principal import optional_principal

    return AgentRunService(repositories(tenant_id), current_state(), principal or optional_principal())

