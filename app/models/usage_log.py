"""One row per model call, failed ones too (seed 003's ai_usage_log): billing and analytics."""

from __future__ import annotations

import enum
import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, Model, Money, TenantScoped, UUIDPrimaryKey
from .tenant import enum_column


class UsageStatus(str, enum.Enum):
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"


class UsageSource(str, enum.Enum):
    """Where a call's token counts come from (issue 12)."""

    REPORTED = "reported"    # the server said so (its ``usage``)
    COUNTED = "counted"      # counted here with the model's own tokenizer
    ESTIMATED = "estimated"  # guessed from the text's length: the server said nothing


class KeySource(str, enum.Enum):
    PLATFORM = "platform"  # the platform's key: draws the user's credits
    BYOK = "byok"          # the user's or tenant's own key: draws nothing
    LOCAL = "local"        # a provider that needs no key (offline): draws nothing


class UsageLogEntry(UUIDPrimaryKey, CreatedAt, TenantScoped, Model):
    __tablename__ = "ai_usage_log"
    __table_args__ = (
        Index("ix_ai_usage_log_user_id_created_at", "user_id", "created_at"),
        Index("ix_ai_usage_log_tenant_id_created_at", "tenant_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"),
                                                      nullable=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="SET NULL"),
                                                     nullable=True, index=True)
    run_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("run_steps.id", ondelete="SET NULL"),
                                                          nullable=True)
    ai_response_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("ai_responses.id", ondelete="SET NULL"), nullable=True)
    model_name: Mapped[str] = mapped_column(String(200), nullable=False)
    provider: Mapped[str] = mapped_column(String(50), nullable=False)
    key_source: Mapped[KeySource] = mapped_column(enum_column(KeySource, "usage_key_source"), nullable=False)
    tokens_prompt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_completion: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Tokens drawn from the user's credits (0 for BYOK and keyless providers).
    credits_charged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    cost_cents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_per_token_cents: Mapped[Decimal | None] = mapped_column(Numeric(10, 8), nullable=True)
    #: What made the call: ``workflow_step``, ``manual``, ``agent_review``...
    context_type: Mapped[str] = mapped_column(String(50), nullable=False, default="workflow_step")
    status: Mapped[UsageStatus] = mapped_column(enum_column(UsageStatus, "usage_status"), nullable=False, index=True)
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_time_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Where the token counts come from; ``None`` on a failed try, which used none.
    usage_source: Mapped[UsageSource | None] = mapped_column(enum_column(UsageSource, "usage_source"), nullable=True)
    #: The tries of one call share ``call_id``; ``call_try`` numbers them from 1 (issue 12:
    #: a call's one retry budget, each try in the log).
    call_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    call_try: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: A review agent's calls (seed 003 table 5): which agent, which of its runs, over which
    #: subject (the seed's ``project_id``) and how many files it read.
    agent_type: Mapped[str | None] = mapped_column(String(50), nullable=True, index=True)
    agent_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("agent_runs.id", ondelete="SET NULL"),
                                                           nullable=True, index=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    files_analyzed: Mapped[int | None] = mapped_column(Integer, nullable=True)
