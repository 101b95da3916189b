"""Artifacts over JSON: metadata, and the bytes (checked against tenant and auth)."""

from __future__ import annotations

from flask import Response

from ..auth.principal import current_principal
from ..errors import NotFoundError
from ..models import Artifact
from ..runtime import current_state, repositories
from ..schemas.artifacts import ArtifactSchema
from .blueprint import EnvelopeBlueprint
from .revalidation import FOREVER, not_modified

blp = EnvelopeBlueprint("artifacts", __name__, url_prefix="/api", description="Files steps produced")


@blp.route("/artifacts/<artifact_id>")
@blp.response(200, ArtifactSchema)
def get_artifact(artifact_id: str):
    current_principal().require("runs", "read")
    return repositories().artifacts.require(artifact_id)


@blp.route("/artifacts/<artifact_id>/content")
@blp.doc(responses={"200": {"description": "The artifact's bytes, with its media type",
                            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}})
def download_artifact(artifact_id: str):
    """The artifact's bytes. Its ETag is its content hash, so caches can keep it forever."""
    current_principal().require("runs", "read")
    artifact = repositories().artifacts.require(artifact_id)
    headers = {"ETag": f'"{artifact.content_hash}"', "Cache-Control": FOREVER}
    unchanged = not_modified(headers)
    if unchanged is not None:
        return unchanged  # the caller has these bytes already: storage is not read
    try:
        content = current_state().storage.read(artifact.uri)
    except FileNotFoundError:
        raise NotFoundError("The artifact's content is no longer in storage.", {"id": artifact_id}) from None
    filename = (artifact.filename or f"{artifact.id}").replace('"', "")
    return Response(content, mimetype=artifact.media_type, headers={
        **headers, "Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"})


@blp.route("/runs/<run_id>/artifacts")
@blp.response(200, ArtifactSchema(many=True))
def run_artifacts(run_id: str):
    current_principal().require("runs", "read")
    run = repositories().runs.require(run_id)
    return repositories().artifacts.list(Artifact.run_id == run.id, order_by=[Artifact.created_at])
