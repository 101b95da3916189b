"""Workflows over JSON: the catalog, uploading versioned YAML, validating, reading versions."""

from __future__ import annotations

from flask import request

from ..auth.principal import current_principal
from ..errors import ValidationError
from ..schemas.workflows import (
    ValidationReportSchema,
    WorkflowSchema,
    WorkflowVersionSchema,
    WorkflowVersionsSchema,
)
from ..runtime import current_state, repositories
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("workflows", __name__, url_prefix="/api/workflows",
                        description="Workflow documents: packaged by plugins or uploaded")

YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string"}, "example": "name: my.workflow\nversion: 1\nsteps: []"},
        "application/json": {"schema": {"type": "object", "required": ["source"],
                                        "properties": {"source": {"type": "string"}}}},
    },
}


class UnsupportedMediaType(ValidationError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status_code = 415


def uploaded_source() -> str:
    """The YAML document of the request: the raw body, or ``source`` in a JSON body."""
    kind = (request.mimetype or "").lower()
    if kind == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("source"), str) or not body["source"].strip():
            raise ValidationError("Send the workflow as {\"source\": \"<yaml>\"}.",
                                  {"fields": {"source": ["Missing data for required field."]}})
        unknown = sorted(set(body) - {"source"})
        if unknown:
            raise ValidationError("Unknown fields in the body.", {"fields": {key: ["Unknown field."] for key in unknown}})
        return body["source"]
    if kind in YAML_TYPES:
        try:
            source = request.get_data(as_text=False).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("The workflow document is not UTF-8 text.") from None
        if not source.strip():
            raise ValidationError("The workflow document is empty.", {"fields": {"source": ["Empty."]}})
        return source
    raise UnsupportedMediaType(f"Send the workflow as application/yaml (or JSON with a source field), not "
                               f"{kind or 'a body without a content type'}.")


@blp.route("")
@blp.response(200, WorkflowSchema(many=True))
def list_workflows():
    """Every workflow this tenant can run (newest version of each): packaged and uploaded."""
    current_principal().require("workflows", "read")
    return current_state().catalog.listing(repositories())


@blp.route("", methods=["POST"])
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(201, WorkflowVersionSchema)
def upload_workflow():
    """Upload a workflow document. Problems come back with their lines; a changed document
    needs a new version (the same document again changes nothing and answers 200)."""
    principal = current_principal()
    principal.require("workflows", "create")
    entry, created = current_state().catalog.upload(repositories(), uploaded_source(), principal.user_id)
    return entry, 201 if created else 200


@blp.route("/validate", methods=["POST"])
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(200, ValidationReportSchema)
def validate_workflow():
    """Check a workflow document without storing it; problems come back with their lines."""
    current_principal().require("workflows", "read")
    definition = current_state().catalog.validate(uploaded_source())
    return {"valid": True, "name": definition.name, "version": definition.version}


@blp.route("/<name>")
@blp.response(200, WorkflowVersionsSchema)
def workflow_versions(name: str):
    """Every version of a workflow, newest first."""
    current_principal().require("workflows", "read")
    return {"name": name, "versions": current_state().catalog.versions(repositories(), name)}


@blp.route("/<name>/versions/<version>")
@blp.response(200, WorkflowVersionSchema)
def workflow_version(name: str, version: str):
    """One version, with its YAML source."""
    current_principal().require("workflows", "read")
    return current_state().catalog.resolve(repositories(), name, version)



