"""Agent runs: one review agent over one subject, queued, run and reported (seed 003 table 6).

The subject is any plugin's: ``subject_kind`` names who owns it (``draftforge.project``) and
``project_id`` which one, as the seed names the column. The core never joins the subject's
table; the plugin that declares the kind resolves and authorises it (``app/agent_runs``).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class AgentRunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"  # the seed's spelling

    @property
    def is_terminal(self) -> bool:
        return self in (AgentRunStatus.COMPLETED, AgentRunStatus.FAILED, AgentRunStatus.CANCELED)


class AgentTrigger(str, enum.Enum):
    MANUAL = "manual"
    COMMIT = "commit"
    PR = "pr"
    SCHEDULED = "scheduled"
    WEBHOOK = "webhook"


#: The usage log's ``context_type`` of each trigger (seed 003 table 5 names them so).
CONTEXT_TYPES = {AgentTrigger.MANUAL: "manual", AgentTrigger.COMMIT: "commit_hook", AgentTrigger.PR: "pr_review",
                 AgentTrigger.SCHEDULED: "scheduled", AgentTrigger.WEBHOOK: "commit_hook"}

#: The only moves. ``running → queued`` is a retry, allowed while ``retry_count < max_retries``
#: (the service checks that count; the table only says the move exists).
AGENT_RUN_TRANSITIONS: dict[AgentRunStatus, frozenset[AgentRunStatus]] = {
    AgentRunStatus.QUEUED: frozenset({AgentRunStatus.RUNNING, AgentRunStatus.CANCELED}),
    AgentRunStatus.RUNNING: frozenset({AgentRunStatus.COMPLETED, AgentRunStatus.FAILED, AgentRunStatus.CANCELED,
                                       AgentRunStatus.QUEUED}),
    AgentRunStatus.COMPLETED: frozenset(),
    AgentRunStatus.FAILED: frozenset(),
    AgentRunStatus.CANCELED: frozenset(),
}


class AgentRun(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "agent_runs"
    __table_args__ = (
        CheckConstraint("priority BETWEEN 1 AND 10", name="valid_priority"),
        Index("ix_agent_runs_subject", "subject_kind", "project_id"),
        Index("ix_agent_runs_created_at", "created_at"),
    )

    #: Whose subject this is: ``<plugin>.<kind>``, e.g. ``draftforge.project``.
    subject_kind: Mapped[str] = mapped_column(String(100), nullable=False)
    #: The subject's id (the seed's ``project_id``).
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    agent_type: Mapped[str] = mapped_column(String(50), nullable=False, index=True)
    trigger: Mapped[AgentTrigger] = mapped_column(enum_column(AgentTrigger, "agent_trigger"), nullable=False,
                                                  index=True)
    #: The commit sha, branch or schedule that triggered the run.
    trigger_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: What the run looked at and with which settings; ``discarded_findings`` counts findings
    #: dropped for naming a file or line the content does not have.
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    status: Mapped[AgentRunStatus] = mapped_column(enum_column(AgentRunStatus, "agent_run_status"), nullable=False,
                                                   default=AgentRunStatus.QUEUED, index=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    #: ``{issues, stats, model_info}`` exactly as the seed shows it.
    results: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    issues_found: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    severity_breakdown: Mapped[dict[str, int] | None] = mapped_column(JSONType, nullable=True)
    #: Beside the seed's message, the error's code (``PAYMENT_REQUIRED``, ``AGENT_RUN_TIMEOUT``).
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    retry_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_retries: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    #: GitHub's ids for a comment or check run; always null offline.
    github_comment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    github_check_run_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: When the run first started: rule 3's five minutes count from here, retries included.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The RQ job of the current try (to take it off its queue on cancel).
    job_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
