"""The step cache (seed 004): a step's output, keyed by what went into it.

An entry is claimed before it is computed (``ready`` false), so two identical steps racing
compute once: the loser waits for the winner instead of calling the skill again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, Money, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey


class StepCacheEntry(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "step_cache"

    #: sha256 of tenant, workflow, step, input hash and (for run_only) the root run.
    cache_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    workflow_name: Mapped[str] = mapped_column(String(100), nullable=False)
    step_id: Mapped[str] = mapped_column(String(64), nullable=False)
    input_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    scope: Mapped[str] = mapped_column(String(20), nullable=False)
    root_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    ready: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The step computing the entry while it is not ready; a crashed owner's claim expires.
    owner_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data: Mapped[dict | list | None] = mapped_column(JSONType, nullable=True)
    candidates: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    artifact_ids: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    tokens_input: Mapped[int] = mapped_column(default=0, nullable=False)
    tokens_output: Mapped[int] = mapped_column(default=0, nullable=False)
    #: What computing the entry cost, so a hit can report what it saved.
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    model_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
