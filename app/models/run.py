"""Runs, their steps and each attempt at a step (seeds 001 and 004).

The database is the source of truth for every run: Redis holds only the queue, so a run
can be rebuilt, and its lost work re-queued, from these rows alone.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..statuses import RunStatus, StepStatus
from .base import JSONType, Model, Money, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class TriggerType(str, enum.Enum):
    INITIAL = "initial"
    UPDATE = "update"
    BRANCH = "branch"


class Run(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_tenant_id_created_at", "tenant_id", "created_at"),)

    workflow_name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    workflow_version: Mapped[str] = mapped_column(String(50), nullable=False)
    #: The exact definition this run executes (WorkflowDefinition.to_dict()). Deferred: it
    #: is large for big workflows and the engine keeps it parsed (DefinitionCache).
    definition: Mapped[dict] = mapped_column(JSONType, nullable=False, deferred=True)
    inputs: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    trigger_type: Mapped[TriggerType] = mapped_column(enum_column(TriggerType, "run_trigger_type"), nullable=False)
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "run_status"), nullable=False, index=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    #: Lineage: the run this one branched from (seed 001), the run it updates (seed 004),
    #: and the first run of the family, which shares ``run_only`` cache entries.
    parent_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True, index=True)
    branch_point: Mapped[str | None] = mapped_column(String(64), nullable=True)
    base_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True, index=True)
    root_run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    error: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    steps_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    steps_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    steps_reused: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_input: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_output: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    model_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: A cap on what the run may spend; a call that would pass it pauses the run instead.
    budget_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    budget_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6), nullable=True)
    #: What cache hits and reused steps saved: the calls, tokens and cost not paid again.
    saved_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    saved_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    saved_cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def progress(self) -> float:
        return round(self.steps_done / self.steps_total, 4) if self.steps_total else 0.0


class RunStep(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """One step of a run; a ``for_each`` step has a row of its own plus one per item."""

    __tablename__ = "run_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "step_key"),
        Index("ix_run_steps_status_heartbeat_at", "status", "heartbeat_at"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    #: ``outline`` for a step, ``chapters[2]`` for the third item of a for_each step.
    step_key: Mapped[str] = mapped_column(String(100), nullable=False)
    step_id: Mapped[str] = mapped_column(String(64), nullable=False)
    fan_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_fan_out: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skill: Mapped[str] = mapped_column(String(100), nullable=False)
    skill_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    status: Mapped[StepStatus] = mapped_column(enum_column(StepStatus, "run_step_status"), nullable=False)
    #: How many of the step's dependencies have not finished yet; 0 means ready.
    waiting_on: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    dependents: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    inputs: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    input_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    output: Mapped[dict | list | None] = mapped_column(JSONType, nullable=True)
    candidates: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    user_selection: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    merged_content: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_artifact_ids: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    #: Attempts of the retry budget used: an execution that failed or was lost spends one;
    #: asking for more candidates (a regeneration) does not.
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: Every time a worker ran the step, regenerations included (numbers its attempt rows).
    executions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    regenerations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Time the step spent waiting for a person to choose a candidate; not in ``duration_ms``,
    #: which is the machine's time.
    waiting_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reused_from_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    worker_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: When the current attempt started; its StepAttempt row is written when it ends
    #: (or by the reconciler, when its worker died), which saves an INSERT per step.
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    progress_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    tokens_input: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_output: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    model_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AttemptOutcome(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CRASHED = "crashed"  # the worker vanished mid-attempt
    CANCELLED = "cancelled"
    WAITING = "waiting"  # handed over to an external job
    INTERRUPTED = "interrupted"  # cut short by the infrastructure (the database away): not charged


class StepAttempt(UUIDPrimaryKey, TenantScoped, Model):
    """One try at a step: who ran it, when, and how it ended."""

    __tablename__ = "step_attempts"
    __table_args__ = (UniqueConstraint("run_step_id", "number"),)

    run_step_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("run_steps.id", ondelete="CASCADE"),
                                                   nullable=False, index=True)
    #: The step's execution number (1, 2, ...), regenerations included.
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    #: This execution made more candidates on a person's request; it spent no attempt.
    regeneration: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    outcome: Mapped[AttemptOutcome] = mapped_column(enum_column(AttemptOutcome, "step_attempt_outcome"),
                                                    nullable=False)
    worker_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
