"""Export jobs: one book rendered to one file on a worker (seed 003 table 8).

The source is any plugin's, as an agent run's subject is: ``subject_kind`` names who owns it
(``draftforge.project``, ``inkwright.run``) and ``project_id`` which one, as the seed names
the column. The file is stored content-addressed (``app/storage.py``) and kept 30 days
(business rule 4); a purge removes what expired.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, TenantScoped, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class ExportType(str, enum.Enum):
    EPUB = "epub"
    PDF = "pdf"
    DOCX = "docx"
    HTML = "html"
    MARKDOWN = "markdown"


#: In the seed's list, refused: Amazon retired MOBI for Kindle, which takes EPUB.
RETIRED_EXPORT_TYPES = ("mobi",)


class ExportStatus(str, enum.Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (ExportStatus.COMPLETED, ExportStatus.FAILED)


#: The only moves: ``processing → queued`` is a retry after a lost worker.
EXPORT_TRANSITIONS: dict[ExportStatus, frozenset[ExportStatus]] = {
    ExportStatus.QUEUED: frozenset({ExportStatus.PROCESSING, ExportStatus.FAILED}),
    ExportStatus.PROCESSING: frozenset({ExportStatus.COMPLETED, ExportStatus.FAILED, ExportStatus.QUEUED}),
    ExportStatus.COMPLETED: frozenset(),
    ExportStatus.FAILED: frozenset(),
}


class ExportJob(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="valid_progress"),
        UniqueConstraint("tenant_id", "user_id", "idempotency_key"),
        Index("ix_export_jobs_subject", "subject_kind", "project_id"),
        Index("ix_export_jobs_created_at", "created_at"),
        Index("ix_export_jobs_expires_at", "expires_at"),
    )

    #: Whose source this is: ``<plugin>.<kind>``.
    subject_kind: Mapped[str] = mapped_column(String(100), nullable=False)
    #: The source's id (the seed's ``project_id``).
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    export_type: Mapped[ExportType] = mapped_column(enum_column(ExportType, "export_type"), nullable=False)
    export_format_version: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: The commit the book was read at, resolved when the job was made (a branch or tag moves).
    source_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_branch: Mapped[str | None] = mapped_column(String(100), nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    status: Mapped[ExportStatus] = mapped_column(enum_column(ExportStatus, "export_status"), nullable=False,
                                                 default=ExportStatus.QUEUED, index=True)
    progress_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: The download route (``/api/exports/<id>/download``); the bytes are at ``output_uri``.
    output_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    output_filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    output_size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    output_checksum: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: Business rule 4: 30 days after it completed.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Beside the seed's message, the error's code (``EXPORT_EMPTY``, ``WORKER_LOST``).
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    build_log: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: ``Idempotency-Key`` of the request that made it: the same key again answers this job.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now
