"""Exports as files: ``/api/exports`` (seed 003 table 8).

``POST`` answers 202 with the queued job (send ``Idempotency-Key`` to make a retry safe);
the job renders on a worker, and ``GET /api/exports/<id>/download`` then answers the file
with its checksum as ``ETag``, for 30 days.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from ..auth.principal import current_principal
from ..exports.formats import FORMATS
from ..exports.service import export_service
from ..models import ExportJob
from ..runtime import current_state
from ..schemas.base import page_of
from ..schemas.exports import ExportCreateSchema, ExportJobSchema, ExportQuerySchema
from .blueprint import EnvelopeBlueprint
from .runs import idempotency_key

blp = EnvelopeBlueprint("exports", __name__, url_prefix="/api/exports",
                        description="Export jobs: a book rendered to EPUB, PDF, DOCX, HTML or Markdown")

FIELDS = tuple(ExportJobSchema().fields)


def shown(job: ExportJob) -> dict[str, Any]:
    """The job as the API shows it: its columns, and whether it expired (by the app's clock)."""
    values = {name: getattr(job, name) for name in FIELDS if name != "expired"}
    return {**values, "expired": job.expired(current_state().clock.now())}


@blp.route("", methods=["POST"])
@blp.arguments(ExportCreateSchema)
@blp.response(202, ExportJobSchema)
def start_export(body: dict[str, Any]):
    """Queue an export of a source (a DraftForge project, a workflow run, …) to one format.
    Refused with 422 ``EXPORT_FORMAT_RETIRED`` (mobi), ``REF_NOT_FOUND`` (a ref the source does
    not have) or ``EXPORT_EMPTY`` (no chapter to export), each naming its field."""
    current_principal().require("exports", "create")
    job, created = export_service().start(
        subject_kind=body["subject_kind"], subject_id=body["subject_id"], export_type=body["export_type"],
        source_ref=body.get("source_ref"), source_branch=body.get("source_branch"), settings=body.get("settings"),
        idempotency_key=idempotency_key())
    return shown(job), 202, ({} if created else {"Idempotent-Replayed": "true"})


@blp.route("")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, page_of(ExportJobSchema))
def list_exports(query: dict[str, Any]):
    """Your exports in this tenant, newest first; filter by source, format and status."""
    current_principal().require("exports", "read")
    items, total = export_service().page(subject_kind=query.get("subject_kind"), subject_id=query.get("subject_id"),
                                         export_type=query.get("export_type"), status=query.get("status"),
                                         limit=query["limit"], offset=query["offset"])
    return {"items": [shown(job) for job in items], "total": total, "limit": query["limit"],
            "offset": query["offset"]}


@blp.route("/<export_id>")
@blp.response(200, ExportJobSchema)
def get_export(export_id: str):
    current_principal().require("exports", "read")
    return shown(export_service().get(export_id))


@blp.route("/<export_id>", methods=["DELETE"])
@blp.response(200, ExportJobSchema)
def delete_export(export_id: str):
    """Remove the export and, unless another export holds the same bytes, its file."""
    current_principal().require("exports", "delete")
    return shown(export_service().delete(export_id))


@blp.route("/<export_id>/download")
@blp.doc(responses={"200": {"description": "The file, with Content-Disposition and ETag (its SHA-256)",
                            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(304, description="If-None-Match named this file's ETag")
@blp.alt_response(409, description="EXPORT_NOT_READY: queued, processing or failed")
@blp.alt_response(410, description="EXPORT_EXPIRED: past its 30 days")
def download_export(export_id: str):
    """The exported file."""
    current_principal().require("exports", "read")
    job, content = export_service().download(export_id)
    etag = f'"{job.output_checksum}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0",
               "Content-Disposition": f'attachment; filename="{job.output_filename}"'}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(content, mimetype=FORMATS[job.export_type.value].media_type, headers=headers)
