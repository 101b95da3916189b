"""An export's job on a worker: read the book at the job's ref, render it, store the file.

``processing`` is taken by a conditional move, so a job delivered twice renders once. The
progress rises as chapters render (written at most once per 10 %), and the build log says
what was read and made. Only a rendered file is stored: a failure keeps no bytes, and says
why in ``error_message`` and ``build_log``. Completing publishes ``export.completed`` (and
tells the person, ``export_ready``); failing publishes ``export.failed``.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from ..errors import AppError
from ..events import DomainEvent
from ..models import ExportJob, ExportStatus
from ..notifications import write_notification
from ..repositories import Repositories
from ..repositories.export_jobs import ExportJobRepository, ExportSweep
from ..runtime import InkwrightState, current_state, mailer, repositories
from .formats import FORMATS
from .service import settings_of
from .sources import export_source

log = logging.getLogger(__name__)

#: Business rule 4: an export is kept 30 days after it completed.
EXPORT_KEPT = timedelta(days=30)


class ExportTry:
    def __init__(self, tenant_id: uuid.UUID, job_id: uuid.UUID, state: InkwrightState | None = None,
                 repos: Repositories | None = None) -> None:
        self.state = state or current_state()
        self.repos = repos or repositories(tenant_id)
        self.jobs = self.repos.get(ExportJobRepository)
        self.job_id = job_id
        self.lines: list[str] = []
        #: The source's subject, found again by ``render`` (its file's name comes from it).
        self.subject: Any = None

    def note(self, line: str) -> None:
        self.lines.append(f"{self.state.clock.now().strftime('%H:%M:%S')} {line}")

    def run(self) -> str:
        now = self.state.clock.now()
        with self.repos.transaction():
            job = self.jobs.get(self.job_id)
            if job is None or job.status != ExportStatus.QUEUED:
                return job.status.value if job else "gone"
            if not self.jobs.move(job, ExportStatus.PROCESSING, now, started_at=now, progress_percent=0):
                return job.status.value
        started = time.perf_counter()
        try:
            content, export_format = self.render(job)
        except Exception as problem:  # noqa: BLE001 - any failure is the job's, said in its row
            return self.fail(job, problem)
        stored = self.state.storage.put(content)
        done = self.state.clock.now()
        self.note(f"stored {len(content):,} bytes, sha256 {stored.content_hash[:12]}…")
        stem = export_source(self.state.registry, job.subject_kind).file_stem(self.subject) or "export"
        version = (job.source_ref or stored.content_hash)[:7]
        with self.repos.transaction() as unit:
            moved = self.jobs.move(job, ExportStatus.COMPLETED, done, completed_at=done, progress_percent=100,
                                   output_url=f"/api/exports/{job.id}/download", output_uri=stored.uri,
                                   output_filename=f"{stem}-{version}.{export_format.extension}",
                                   output_size_bytes=stored.size_bytes, output_checksum=stored.content_hash,
                                   expires_at=done + EXPORT_KEPT, build_log=self.log_text(),
                                   duration_seconds=int(time.perf_counter() - started))
            if moved:
                unit.publish(DomainEvent(type="export.completed", aggregate_id=str(job.id), tenant_id=job.tenant_id,
                                         actor_id=job.user_id, payload=self.payload(job)))
                write_notification(self.repos, done, job.user_id, "export_ready",
                                   f"Your {job.export_type.value.upper()} export is ready",
                                   message=f"{job.output_filename} ({job.output_size_bytes:,} bytes), kept 30 days.",
                                   related_entity_type="export", related_entity_id=str(job.id),
                                   action_url=job.output_url,
                                   action_label="Download", mailer=mailer())
        return job.status.value

    def render(self, job: ExportJob) -> tuple[bytes, Any]:
        source = export_source(self.state.registry, job.subject_kind)
        self.subject = source.find(self.repos, str(job.project_id), None)
        if self.subject is None:
            raise LookupError(f"the {job.subject_kind} {job.project_id} is gone")
        book = source.book(self.repos, self.subject, job.source_ref)
        self.note(f"read {len(book.chapters)} chapters, {book.words:,} words"
                  + (f" at {job.source_ref[:12]}" if job.source_ref else ""))
        export_format = FORMATS[job.export_type.value]
        reported = [0]

        def progress(done: int, total: int) -> None:
            percent = min(99, int(done * 100 / max(total, 1)))
            if percent - reported[0] >= 10 or done == total:
                reported[0] = percent
                with self.repos.transaction():
                    self.jobs.set_progress(job.id, percent, self.state.clock.now())

        content = export_format.render(book, settings_of(job.settings or {}), progress)
        self.note(f"rendered {export_format.name}")
        return content, export_format

    def fail(self, job: ExportJob, problem: Exception) -> str:
        code = problem.code if isinstance(problem, AppError) else "EXPORT_FAILED"
        message = problem.message if isinstance(problem, AppError) else f"{type(problem).__name__}: {problem}"
        log.warning("export %s failed: %s", job.id, message, exc_info=not isinstance(problem, AppError))
        self.note(f"failed: {message}")
        now = self.state.clock.now()
        with self.repos.transaction() as unit:
            if self.jobs.move(job, ExportStatus.FAILED, now, completed_at=now, error_code=code[:50],
                              error_message=message[:2000], build_log=self.log_text()):
                unit.publish(DomainEvent(type="export.failed", aggregate_id=str(job.id), tenant_id=job.tenant_id,
                                         actor_id=job.user_id, payload={**self.payload(job), "error": message[:500]}))
        return job.status.value

    def log_text(self) -> str:
        return "\n".join(self.lines)[-20_000:]

    @staticmethod
    def payload(job: ExportJob) -> dict[str, Any]:
        return {"exportId": str(job.id), "subjectKind": job.subject_kind, "subjectId": str(job.project_id),
                "exportType": job.export_type.value, "status": job.status.value, "sourceRef": job.source_ref,
                "outputUrl": job.output_url, "outputSizeBytes": job.output_size_bytes,
                "outputChecksum": job.output_checksum}


def run_export_try(tenant_id: str, job_id: str) -> str:
    return ExportTry(uuid.UUID(tenant_id), uuid.UUID(job_id)).run()


#: A processing export this long after it started lost its worker (the job's own limit is 10 minutes).
LOST_AFTER = timedelta(minutes=15)
#: A queued export this long after it was made whose RQ job is gone is queued again.
REQUEUE_AFTER = timedelta(minutes=1)


def sweep(now: Any = None) -> dict[str, int]:
    """The reconciler's pass over exports: fail those a worker lost mid-render (the person
    exports again; nothing was stored), and queue again those whose job Redis lost."""
    from rq.job import Job

    from .service import ExportService

    state = current_state()
    now = now or state.clock.now()
    sweeping = repositories().get(ExportSweep)
    failed = requeued = 0
    for tenant_id, job_id in sweeping.processing_since(now - LOST_AFTER):
        repos = repositories(tenant_id)
        jobs = repos.get(ExportJobRepository)
        with repos.transaction():
            job = jobs.get(job_id)
            if job is not None and jobs.move(job, ExportStatus.FAILED, now, completed_at=now, error_code="WORKER_LOST",
                                             error_message="The worker making this export was lost; export again."):
                failed += 1
    connection = state.redis.client()
    for tenant_id, job_id in sweeping.queued_before(now - REQUEUE_AFTER):
        repos = repositories(tenant_id)
        job = repos.get(ExportJobRepository).get(job_id)
        if job is None or job.status != ExportStatus.QUEUED or Job.exists(f"export-{job.id}", connection):
            continue
        ExportService(repos, state).enqueue(job)
        requeued += 1
    repositories().transaction().end_read()
    return {"failed": failed, "requeued": requeued}
