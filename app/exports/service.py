"""Asking for, reading and deleting exports: what the API and plugins call.

An export is checked whole before anything is written — the format (``mobi`` is retired),
the source and the caller's right to export it, the ref (resolved to a commit so it cannot
move), and that the book has a chapter — then written ``queued`` and its job put on the queue
after the commit. The same ``Idempotency-Key`` from the same person answers the same job.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from .. import audit
from ..auth.principal import Principal
from ..errors import NotFoundError, ValidationError
from ..models import RETIRED_EXPORT_TYPES, ExportJob, ExportStatus, ExportType
from ..repositories import Repositories, as_uuid
from ..repositories.export_jobs import ExportJobRepository
from ..runtime import InkwrightState, current_state, repositories
from .book import ExportSettings
from .errors import ExportEmptyError, ExportExpiredError, ExportFormatRetiredError, ExportNotReadyError, field_problem
from .formats import FORMATS
from .purge import release_file
from .sources import export_source

JOB_FUNCTION = "app.jobs.run_export"
JOB_TIMEOUT = 600


def export_type_of(value: str) -> ExportType:
    """:raises ExportFormatRetiredError: for ``mobi``; ValidationError for anything unknown."""
    if value in RETIRED_EXPORT_TYPES:
        raise field_problem(ExportFormatRetiredError, "exportType",
                            "MOBI is retired: Amazon's Kindle takes EPUB now; export EPUB instead.")
    try:
        return ExportType(value)
    except ValueError:
        raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                              {"fields": {"exportType": [f"One of: {', '.join(t.value for t in ExportType)}."]}}) \
            from None


def settings_of(stored: dict[str, Any]) -> ExportSettings:
    known = {key: stored[key] for key in ("title_page", "table_of_contents", "page_size", "font_size") if key in stored}
    return ExportSettings(**known)


class ExportService:
    def __init__(self, repos: Repositories, state: InkwrightState, principal: Principal | None = None) -> None:
        self.repos = repos
        self.state = state
        self.principal = principal
        self.jobs = repos.get(ExportJobRepository)

    def start(self, *, subject_kind: str, subject_id: Any, export_type: str, source_ref: str | None = None,
              source_branch: str | None = None, settings: dict[str, Any] | None = None,
              idempotency_key: str | None = None) -> tuple[ExportJob, bool]:
        """Queue an export; the job, and whether it is new (False: the key's earlier job).

        :raises ExportFormatRetiredError, ValidationError: for the format or the kind.
        :raises NotFoundError: for a source the caller may not export (or that does not exist).
        :raises RefNotFoundError: for a ref the source does not have.
        :raises ExportEmptyError: for a book with no chapter.
        """
        user_id = self.principal.user_id if self.principal else None
        if user_id is None:
            raise ValidationError("An export is made for a person.", {"fields": {"userId": ["Required."]}})
        if idempotency_key:
            earlier = self.jobs.of_idempotency_key(user_id, idempotency_key)
            if earlier is not None:
                return earlier, False
        kind = export_type_of(export_type)
        source = export_source(self.state.registry, subject_kind)
        subject = source.find(self.repos, str(subject_id), self.principal)
        if subject is None:
            raise NotFoundError(f"No {subject_kind} with id {subject_id} here.", {"subjectId": str(subject_id)})
        ref, branch = source.resolve(self.repos, subject, source_ref, source_branch)
        book = source.book(self.repos, subject, ref)
        if not book.chapters:
            raise field_problem(ExportEmptyError, "subjectId", "There is nothing to export yet: no chapter has text.")
        chosen = {**asdict(ExportSettings()), **source.default_settings(subject), **(settings or {})}
        chosen.pop("extra", None)
        now = self.state.clock.now()
        job_id = uuid.uuid4()
        with self.repos.transaction():
            job = self.jobs.add(ExportJob(
                id=job_id, created_at=now, updated_at=now, subject_kind=subject_kind, project_id=as_uuid(subject.id),
                user_id=user_id, export_type=kind, export_format_version=FORMATS[kind.value].version,
                source_ref=ref, source_branch=branch, settings=chosen, status=ExportStatus.QUEUED,
                progress_percent=0, idempotency_key=idempotency_key))
            # Who took a copy of what, and at which version: the audit log's "export".
            audit.record(self.repos, "export.create", "export", job.id,
                         metadata={"subject_kind": subject_kind, "subject_id": str(subject.id),
                                   "export_type": kind.value, "source_ref": ref})
        self.enqueue(job)
        return job, True

    def enqueue(self, job: ExportJob) -> None:
        self.state.enqueue(JOB_FUNCTION, str(job.tenant_id), str(job.id), job_id=f"export-{job.id}",
                           job_timeout=JOB_TIMEOUT, result_ttl=3600, failure_ttl=86400)

    # Reading ------------------------------------------------------------------------------
    def get(self, job_id: Any) -> ExportJob:
        """:raises NotFoundError: for an export that is not this person's in this tenant."""
        job = self.jobs.get(job_id)
        if job is None or (self.principal is not None and job.user_id != self.principal.user_id):
            raise NotFoundError(f"No export with id {job_id} here.", {"id": str(job_id)})
        return job

    def page(self, **filters: Any) -> tuple[list[ExportJob], int]:
        return self.jobs.newest(user_id=self.principal.user_id if self.principal else None, **filters)

    def download(self, job_id: Any) -> tuple[ExportJob, bytes]:
        """:raises ExportNotReadyError: before it completed; ExportExpiredError past its 30 days."""
        job = self.get(job_id)
        if job.status != ExportStatus.COMPLETED:
            raise ExportNotReadyError(f"This export is {job.status.value}; it can be downloaded once completed.",
                                      {"status": job.status.value})
        if job.expired(self.state.clock.now()) or not job.output_uri:
            raise ExportExpiredError("This export expired (exports are kept 30 days); export again.",
                                     {"expiredAt": job.expires_at.isoformat() if job.expires_at else None})
        try:
            return job, self.state.storage.read(job.output_uri)
        except FileNotFoundError:
            raise ExportExpiredError("This export's file is gone; export again.", {}) from None

    def delete(self, job_id: Any) -> ExportJob:
        """Remove the export; its file goes with it unless another export or artifact holds the
        same bytes (storage is content-addressed)."""
        with self.repos.transaction():
            job = self.get(job_id)
            uri, checksum = job.output_uri, job.output_checksum
            audit.record(self.repos, "export.delete", "export", job.id,
                         metadata={"subject_kind": job.subject_kind, "export_type": job.export_type.value})
            self.jobs.session.delete(job)
        if uri and checksum:
            release_file(self.repos, self.state, job.id, uri, checksum)
        return job


def export_service(tenant_id: Any = None, principal: Principal | None = None) -> ExportService:
    """The service for this request's or job's tenant."""
    from ..auth.principal import optional_principal

    return ExportService(repositories(tenant_id), current_state(), principal or optional_principal())
