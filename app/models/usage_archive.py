"""Usage log rows older than the retention window (a year), kept whole but out of the way of
the live log's queries (seed 003 "Data Retention")."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, UTCDateTime


class UsageLogArchive(Model):
    __tablename__ = "ai_usage_log_archive"

    #: The id the row had in ``ai_usage_log``.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Every column of the original row, as JSON (numbers as strings where exact).
    record: Mapped[dict] = mapped_column(JSONType, nullable=False)
