"""A tenant's export jobs (seed 003 table 8), and the purge's look across tenants.

A status moves only by a conditional UPDATE on the status the caller saw, as agent runs do,
so a worker finishing and the reconciler judging it lost cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from ..errors import IllegalTransitionError
from ..models import EXPORT_TRANSITIONS, Artifact, ExportJob, ExportStatus
from .base import ScopedRepository, SystemRepository, operation


class ExportJobRepository(ScopedRepository[ExportJob]):
    model = ExportJob

    def newest(self, *, user_id: uuid.UUID | None = None, subject_kind: str | None = None,
               subject_id: uuid.UUID | None = None, export_type: Any = None, status: ExportStatus | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[ExportJob], int]:
        criteria = []
        for column, value in ((ExportJob.user_id, user_id), (ExportJob.subject_kind, subject_kind),
                              (ExportJob.project_id, subject_id), (ExportJob.export_type, export_type),
                              (ExportJob.status, status)):
            if value is not None:
                criteria.append(column == value)
        return self.page(*criteria, order_by=[ExportJob.created_at.desc(), ExportJob.id.desc()], limit=limit,
                         offset=offset)

    @operation
    def of_idempotency_key(self, user_id: uuid.UUID, key: str) -> ExportJob | None:
        return self.first(ExportJob.user_id == user_id, ExportJob.idempotency_key == key)

    @operation
    def move(self, job: ExportJob, new: ExportStatus, now: datetime, **values: Any) -> bool:
        """Move ``job`` from the status it was loaded with to ``new`` (with ``values``) unless
        someone moved it meanwhile; whether it moved.

        :raises IllegalTransitionError: when the lifecycle has no such move.
        """
        current = ExportStatus(job.status)
        if new not in EXPORT_TRANSITIONS[current]:
            raise IllegalTransitionError("ExportJob", current.value, ExportStatus(new).value)
        result = self.session.execute(self.update_where(ExportJob.id == job.id, ExportJob.status == current)
                                      .values(status=new, updated_at=now, **values)
                                      .execution_options(synchronize_session=False))
        if not result.rowcount:
            self.session.refresh(job)
            return False
        job.status, job.updated_at = new, now
        for name, value in values.items():
            setattr(job, name, value)
        return True

    @operation
    def set_progress(self, job_id: uuid.UUID, percent: int, now: datetime) -> None:
        """Record how far a processing job is (never backwards)."""
        self.session.execute(self.update_where(ExportJob.id == job_id, ExportJob.status == ExportStatus.PROCESSING,
                                               ExportJob.progress_percent < percent)
                             .values(progress_percent=percent, updated_at=now)
                             .execution_options(synchronize_session=False))


class ExportPurge(SystemRepository[ExportJob]):
    """System scope: business rule 4's purge, once a day over every tenant's expired exports,
    and the check that no other tenant's job or artifact still holds the same stored bytes
    (storage is content-addressed, so two tenants' identical files are one file)."""

    model = ExportJob

    @operation
    def expired_files(self, now: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID, str, str]]:
        """``(tenant_id, job_id, uri, checksum)`` of jobs past ``expires_at`` whose file is still kept."""
        rows = self.session.execute(select(ExportJob.tenant_id, ExportJob.id, ExportJob.output_uri,
                                           ExportJob.output_checksum)
                                    .where(ExportJob.expires_at <= now, ExportJob.output_uri.is_not(None))
                                    .order_by(ExportJob.expires_at).limit(limit))
        return [(tenant_id, job_id, uri, checksum) for tenant_id, job_id, uri, checksum in rows]

    @operation
    def bytes_still_used(self, checksum: str, now: datetime, leaving: uuid.UUID) -> bool:
        """Whether a live export (not ``leaving``, not expired) or any artifact holds these bytes."""
        jobs = self.session.scalar(select(func.count()).select_from(ExportJob).where(
            ExportJob.output_checksum == checksum, ExportJob.output_uri.is_not(None), ExportJob.id != leaving,
            or_(ExportJob.expires_at.is_(None), ExportJob.expires_at > now)))
        artifacts = self.session.scalar(select(func.count()).select_from(Artifact)
                                        .where(Artifact.content_hash == checksum))
        return bool(jobs or artifacts)

    @operation
    def forget_file(self, job_id: uuid.UUID, now: datetime) -> None:
        """The job keeps its row and says it expired; its file is no longer kept."""
        self.session.execute(ExportJob.__table__.update().where(ExportJob.__table__.c.id == job_id)
                             .values(output_uri=None, updated_at=now))


class ExportSweep(SystemRepository[ExportJob]):
    """System scope: the reconciler's look over every tenant's exports that a worker lost
    (processing far past the job's timeout) or whose job Redis lost (still queued); each one
    found is then worked on through its own tenant's repositories."""

    model = ExportJob

    @operation
    def processing_since(self, started_before: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
        rows = self.session.execute(select(ExportJob.tenant_id, ExportJob.id).where(
            ExportJob.status == ExportStatus.PROCESSING, ExportJob.started_at < started_before).limit(limit))
        return [(tenant_id, job_id) for tenant_id, job_id in rows]

    @operation
    def queued_before(self, created_before: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
        rows = self.session.execute(select(ExportJob.tenant_id, ExportJob.id).where(
            ExportJob.status == ExportStatus.QUEUED, ExportJob.created_at < created_before).limit(limit))
        return [(tenant_id, job_id) for tenant_id, job_id in rows]
