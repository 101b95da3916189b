"""Artifacts (seed 004): content-addressed files a step produced."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, TenantScoped, Timestamps, UUIDPrimaryKey


class Artifact(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """One artifact of one step. The bytes live once per content hash in storage; a step
    that stores the same bytes again (a retry, say) gets its existing row back."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_step_id", "content_hash"),)

    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="SET NULL"),
                                                     nullable=True, index=True)
    run_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("run_steps.id", ondelete="SET NULL"),
                                                          nullable=True)
    skill: Mapped[str | None] = mapped_column(String(100), nullable=True)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    uri: Mapped[str] = mapped_column(String(2048), nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, nullable=False, default=dict)
