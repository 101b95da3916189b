"""WriteIt's tables: a tenant's articles and its own style primers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.toolkit import (
    JSONType,
    Model,
    TenantScoped,
    Timestamps,
    UTCDateTime,
    UUIDPrimaryKey,
)


class ArticleStatus(str, enum.Enum):
    """Seed 001's PipelineStatus as an article shows it (plus ``cancelled``)."""

    RUNNING = "running"
    PAUSED = "paused"          # a step waits for the writer to pick a candidate
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"

    @classmethod
    def of_run(cls, run_status: str) -> ArticleStatus:
        """The article's status while its current run has ``run_status``."""
        return {"queued": cls.RUNNING, "running": cls.RUNNING, "paused": cls.PAUSED,
                "completed": cls.COMPLETED, "cancelled": cls.CANCELLED}.get(run_status, cls.ERROR)


class Article(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """One article: the pipeline run it started from, the branch it follows now, its text."""

    __tablename__ = "writeit_articles"

    topic: Mapped[str] = mapped_column(Text, nullable=False)
    audience: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    primer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    root_run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="CASCADE"),
                                                   nullable=False, index=True)
    current_run_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=ArticleStatus.RUNNING.value)
    final_markdown: Mapped[str | None] = mapped_column(Text, nullable=True)
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    #: The current run's status as an article status, when read with it (``with_live_status``).
    live_status = None

    @property
    def shown_status(self) -> str:
        return self.live_status or self.status


class PrimerRecord(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """A tenant's own style primer (seed 001's StylePrimer); its ``primer_id`` is unique in the tenant."""

    __tablename__ = "writeit_primers"
    __table_args__ = (UniqueConstraint("tenant_id", "primer_id"),)

    primer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    content: Mapped[str] = mapped_column(Text, nullable=False)
    voice_attributes: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    example_openings: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    guidelines: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
