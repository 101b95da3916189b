"""Every model call's answer (seed 001's AIResponse), linked to its run step and candidate."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, JSONType, Model, Money, TenantScoped, UUIDPrimaryKey
from .tenant import enum_column
from .usage_log import UsageSource


class AIResponse(UUIDPrimaryKey, CreatedAt, TenantScoped, Model):
    __tablename__ = "ai_responses"
    __table_args__ = (Index("ix_ai_responses_run_step_id_candidate", "run_step_id", "candidate_index"),)

    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="CASCADE"),
                                                     nullable=True, index=True)
    run_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("run_steps.id", ondelete="CASCADE"),
                                                          nullable=True)
    candidate_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempt: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: ``provider:model`` as asked, and the model the backend says answered.
    model_name: Mapped[str] = mapped_column(String(200), nullable=False)
    resolved_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    provider: Mapped[str] = mapped_column(String(50), nullable=False)
    #: The exact prompt sent: the messages, rendered as text for people (and kept as sent).
    prompt_used: Mapped[str] = mapped_column(Text, nullable=False, default="")
    messages: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    raw_output: Mapped[str] = mapped_column(Text, nullable=False, default="")
    processed_content: Mapped[str | None] = mapped_column(Text, nullable=True)
    finish_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    tokens_input: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_output: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    processing_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quality_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Made with the user's or tenant's own key (no platform credits drawn).
    byok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Text from the offline provider is labelled as such wherever it is shown.
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Where ``tokens_input``/``tokens_output`` come from: reported, counted or estimated.
    usage_source: Mapped[UsageSource] = mapped_column(enum_column(UsageSource, "ai_response_usage_source"),
                                                      nullable=False, default=UsageSource.REPORTED)
    raw_response: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
