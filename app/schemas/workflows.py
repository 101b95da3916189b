"""Workflow documents: catalog entries, versions, validation problems."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import ApiSchema


class InputDeclarationSchema(ApiSchema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    required = fields.Boolean(required=True)
    default = fields.Raw(allow_none=True)
    description = fields.String()
    choices = fields.List(fields.Raw())
    minimum = fields.Float(allow_none=True)
    maximum = fields.Float(allow_none=True)
    min_length = fields.Integer(allow_none=True)
    max_length = fields.Integer(allow_none=True)


class StepSummarySchema(ApiSchema):
    id = fields.String(required=True)
    skill = fields.String(required=True)
    depends_on = fields.List(fields.String(), required=True)
    for_each = fields.String(allow_none=True)
    candidates = fields.Integer(attribute="candidate_count")
    select = fields.String()
    cache = fields.String()


class WorkflowSchema(ApiSchema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    description = fields.String()
    origin = fields.String(required=True, metadata={"description": "plugin:<name> or tenant"})
    inputs = fields.List(fields.Nested(InputDeclarationSchema), attribute="definition.inputs")
    steps = fields.List(fields.Nested(StepSummarySchema), attribute="definition.steps")
    created_at = fields.DateTime(allow_none=True)


class WorkflowVersionSchema(WorkflowSchema):
    source = fields.String(required=True)


class WorkflowVersionsSchema(ApiSchema):
    name = fields.String(required=True)
    versions = fields.List(fields.Nested(WorkflowSchema), required=True)


class WorkflowUploadSchema(ApiSchema):
    source = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000),
                           metadata={"description": "The YAML document (or send it raw as application/yaml)"})


class ValidationReportSchema(ApiSchema):
    valid = fields.Boolean(required=True)
    name = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
