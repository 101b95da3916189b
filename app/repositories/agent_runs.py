"""A tenant's agent runs (seed 003 table 6), and the one sweep that crosses tenants.

A status moves only by a conditional UPDATE on the status the caller saw, so a cancel and a
worker finishing at the same moment cannot both win: the loser's UPDATE matches no row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from ..errors import IllegalTransitionError
from ..models import AGENT_RUN_TRANSITIONS, AgentRun, AgentRunStatus, UsageLogEntry
from .base import ScopedRepository, SystemRepository, operation


def check_agent_run_move(current: AgentRunStatus, new: AgentRunStatus) -> None:
    """:raises IllegalTransitionError: when the seed's lifecycle does not allow the move."""
    if new not in AGENT_RUN_TRANSITIONS[AgentRunStatus(current)]:
        raise IllegalTransitionError("AgentRun", AgentRunStatus(current).value, AgentRunStatus(new).value)


class AgentRunRepository(ScopedRepository[AgentRun]):
    model = AgentRun

    def newest(self, *, subject_kind: str | None = None, subject_id: uuid.UUID | None = None,
               agent_type: str | None = None, status: AgentRunStatus | None = None, trigger: Any = None,
               limit: int = 50, offset: int = 0) -> tuple[list[AgentRun], int]:
        criteria = []
        if subject_kind is not None:
            criteria.append(AgentRun.subject_kind == subject_kind)
        if subject_id is not None:
            criteria.append(AgentRun.project_id == subject_id)
        if agent_type is not None:
            criteria.append(AgentRun.agent_type == agent_type)
        if status is not None:
            criteria.append(AgentRun.status == status)
        if trigger is not None:
            criteria.append(AgentRun.trigger == trigger)
        return self.page(*criteria, order_by=[AgentRun.created_at.desc(), AgentRun.id.desc()],
                         limit=limit, offset=offset)

    @operation
    def status_of(self, run_id: uuid.UUID) -> AgentRunStatus | None:
        value = self.session.scalar(self.core_select(AgentRun.status).where(AgentRun.id == run_id))
        return AgentRunStatus(value) if value is not None else None

    @operation
    def move(self, run: AgentRun, new: AgentRunStatus, now: datetime, **values: Any) -> bool:
        """Move ``run`` from the status it was loaded with to ``new`` (with ``values``), if
        nobody moved it meanwhile; whether it moved. The instance is updated to match.

        :raises IllegalTransitionError: when the lifecycle has no such move.
        """
        current = AgentRunStatus(run.status)
        check_agent_run_move(current, new)
        result = self.session.execute(self.update_where(AgentRun.id == run.id, AgentRun.status == current)
                                      .values(status=new, updated_at=now, **values)
                                      .execution_options(synchronize_session=False))
        if not result.rowcount:
            self.session.refresh(run)
            return False
        run.status = new
        run.updated_at = now
        for name, value in values.items():
            setattr(run, name, value)
        return True


    @operation
    def forget_subject(self, subject_kind: str, subject_id: uuid.UUID) -> int:
        """Remove a subject's runs for good, as its plugin purges the subject (seed 003: a
        project's agent runs go with it); how many. The usage rows they metered stay, for the
        bill: their ``agent_run_id`` is set null by the foreign key, and their ``project_id``
        here, as the seed's ``ON DELETE SET NULL`` says."""
        self.session.execute(update(UsageLogEntry).where(
            UsageLogEntry.tenant_id == self.tenant_id, UsageLogEntry.project_id == subject_id,
            UsageLogEntry.agent_run_id.in_(self.core_select(AgentRun.id).where(AgentRun.subject_kind == subject_kind,
                                                                             AgentRun.project_id == subject_id)))
            .values(project_id=None).execution_options(synchronize_session=False))
        result = self.session.execute(self.delete_where(AgentRun.subject_kind == subject_kind,
                                                        AgentRun.project_id == subject_id)
                                      .execution_options(synchronize_session=False))
        return result.rowcount or 0


class AgentRunSweep(SystemRepository[AgentRun]):
    """System scope: the reconciler's look over every tenant's unfinished agent runs. Rule 3
    (five minutes from the first start) holds whoever's run it is, and no request names the
    tenant; each run found is then worked on through its own tenant's repositories."""

    model = AgentRun

    @operation
    def unfinished_since(self, started_before: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """``(tenant_id, run_id)`` of queued or running runs first started before the moment."""
        rows = self.session.execute(select(AgentRun.tenant_id, AgentRun.id).where(
            AgentRun.status.in_([AgentRunStatus.QUEUED, AgentRunStatus.RUNNING]),
            AgentRun.started_at.is_not(None), AgentRun.started_at < started_before).limit(limit))
        return [(tenant_id, run_id) for tenant_id, run_id in rows]

    @operation
    def queued_before(self, created_before: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """``(tenant_id, run_id)`` of runs still queued, never started, made before the moment
        (their job may be lost with Redis: the reconciler queues them again)."""
        rows = self.session.execute(select(AgentRun.tenant_id, AgentRun.id).where(
            AgentRun.status == AgentRunStatus.QUEUED, AgentRun.created_at < created_before).limit(limit))
        return [(tenant_id, run_id) for tenant_id, run_id in rows]
