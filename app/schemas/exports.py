"""Export jobs (seed 003 table 8): what is asked for, and what a job says of itself."""

from __future__ import annotations

from marshmallow import fields, validate

from ..exports.formats.pdf_format import PAGE_SIZES
from ..models import RETIRED_EXPORT_TYPES, ExportStatus, ExportType
from .base import ApiSchema, JsonInteger, PageQuerySchema, StrictBoolean


class ExportSettingsSchema(ApiSchema):
    title_page = StrictBoolean(metadata={"description": "A title page (with the cover, if the source has one)"})
    table_of_contents = StrictBoolean()
    page_size = fields.String(validate=validate.OneOf(PAGE_SIZES), metadata={"description": "PDF only"})
    font_size = JsonInteger(validate=validate.Range(min=8, max=16), metadata={"description": "PDF only, in points"})


class ExportCreateSchema(ApiSchema):
    subject_kind = fields.String(required=True, validate=validate.Length(min=1, max=100),
                                 metadata={"description": "e.g. draftforge.project, or inkwright.run"})
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    export_type = fields.String(required=True, validate=validate.OneOf(
        [t.value for t in ExportType] + list(RETIRED_EXPORT_TYPES)),
        metadata={"description": "epub, pdf, docx, html or markdown (mobi is refused: EXPORT_FORMAT_RETIRED)"})
    source_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255),
                               metadata={"description": "A commit, tag or branch of the source; its head if none"})
    source_branch = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    settings = fields.Nested(ExportSettingsSchema, load_default=dict)


class ExportJobSchema(ApiSchema):
    id = fields.UUID(required=True)
    subject_kind = fields.String(required=True)
    project_id = fields.UUID(required=True, metadata={"description": "The source's id (the seed's name)"})
    user_id = fields.UUID(required=True)
    export_type = fields.Enum(ExportType, by_value=True, required=True)
    export_format_version = fields.String(allow_none=True)
    source_ref = fields.String(allow_none=True)
    source_branch = fields.String(allow_none=True)
    settings = fields.Dict(required=True)
    status = fields.Enum(ExportStatus, by_value=True, required=True)
    progress_percent = fields.Integer(required=True)
    output_url = fields.String(allow_none=True)
    output_filename = fields.String(allow_none=True)
    output_size_bytes = fields.Integer(allow_none=True)
    output_checksum = fields.String(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    expired = fields.Boolean(required=True, metadata={"description": "Past expires_at: the file is gone"})
    error_code = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    build_log = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ExportQuerySchema(PageQuerySchema):
    subject_kind = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    subject_id = fields.UUID(load_default=None)
    export_type = fields.Enum(ExportType, by_value=True, load_default=None)
    status = fields.Enum(ExportStatus, by_value=True, load_default=None)
