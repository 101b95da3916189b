"""An asynchronous media generation at a provider (seed 004's GenerationJob).

The step that starts one goes to ``waiting`` without holding a worker; a poller job checks
the provider at ``poll_interval_ms`` until the job completes, fails or times out, then the
result is stored as a content-addressed artifact and the step runs again to pick it up.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import IllegalTransitionError
from .base import JSONType, Model, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class GenerationStatus(str, enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        return self in (GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.TIMED_OUT)


GENERATION_TRANSITIONS = {
    GenerationStatus.PENDING: {GenerationStatus.PROCESSING, GenerationStatus.COMPLETED, GenerationStatus.FAILED,
                               GenerationStatus.TIMED_OUT},
    GenerationStatus.PROCESSING: {GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.TIMED_OUT},
    GenerationStatus.COMPLETED: set(),
    GenerationStatus.FAILED: set(),
    GenerationStatus.TIMED_OUT: set(),
}


class GenerationJob(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "generation_jobs"
    __table_args__ = (UniqueConstraint("run_step_id", "request_hash"),)

    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="CASCADE"),
                                                     nullable=True, index=True)
    run_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("run_steps.id", ondelete="CASCADE"),
                                                          nullable=True, index=True)
    #: sha256 of the request (model, media type, parameters, candidate): a step that runs
    #: again after the job finished finds its result instead of starting another job.
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    provider_id: Mapped[str] = mapped_column(String(100), nullable=False)
    model_name: Mapped[str] = mapped_column(String(200), nullable=False)
    provider_job_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    media_type: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[GenerationStatus] = mapped_column(enum_column(GenerationStatus, "generation_status"),
                                                     nullable=False, default=GenerationStatus.PENDING, index=True)
    poll_interval_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=1000)
    timeout_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=600_000)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    input_params: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    result_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    artifact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("artifacts.id", ondelete="SET NULL"),
                                                          nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 4), nullable=True)
    poll_job_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def move_to(self, status: GenerationStatus) -> None:
        if status not in GENERATION_TRANSITIONS[self.status]:
            raise IllegalTransitionError("GenerationJob", self.status.value, status.value)
        self.status = status
