"""Agent runs (seed 003 table 6) and the agents installed to run them."""

from __future__ import annotations

from marshmallow import fields, validate

from ..models import AgentRunStatus, AgentTrigger
from .base import ApiSchema, JsonInteger, ModelName, PageQuerySchema


class AgentSchema(ApiSchema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    description = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)


class AgentListSchema(ApiSchema):
    items = fields.List(fields.Nested(AgentSchema), required=True)
    subject_kinds = fields.List(fields.String(), required=True,
                                metadata={"description": "The kinds of subject agents can review here"})


class AgentRunCreateSchema(ApiSchema):
    subject_kind = fields.String(required=True, validate=validate.Length(min=1, max=100),
                                 metadata={"description": "e.g. draftforge.project, or inkwright.run"})
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    agent_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    trigger = fields.Enum(AgentTrigger, by_value=True, load_default=AgentTrigger.MANUAL)
    trigger_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    priority = JsonInteger(load_default=5, validate=validate.Range(min=1, max=10))
    model = ModelName(load_default=None, allow_none=True,
                      metadata={"description": "provider:model for the agent's calls; the subject's setting "
                                               "or the default otherwise"})


class AgentRunSchema(ApiSchema):
    id = fields.UUID(required=True)
    subject_kind = fields.String(required=True)
    project_id = fields.UUID(required=True, metadata={"description": "The subject's id (the seed's name)"})
    user_id = fields.UUID(required=True)
    agent_type = fields.String(required=True)
    trigger = fields.Enum(AgentTrigger, by_value=True, required=True)
    trigger_ref = fields.String(allow_none=True)
    context = fields.Dict(required=True)
    status = fields.Enum(AgentRunStatus, by_value=True, required=True)
    priority = fields.Integer(required=True)
    results = fields.Dict(allow_none=True)
    summary = fields.String(allow_none=True)
    issues_found = fields.Integer(required=True)
    severity_breakdown = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    error_code = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    retry_count = fields.Integer(required=True)
    max_retries = fields.Integer(required=True)
    github_comment_id = fields.Integer(allow_none=True)
    github_check_run_id = fields.Integer(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class AgentRunQuerySchema(PageQuerySchema):
    subject_kind = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    subject_id = fields.UUID(load_default=None)
    agent_type = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    status = fields.Enum(AgentRunStatus, by_value=True, load_default=None)
    trigger = fields.Enum(AgentTrigger, by_value=True, load_default=None)
