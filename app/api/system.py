"""Health probes for orchestrators, and repository metrics for platform administrators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import literal, select

from ..auth.principal import current_principal
from ..envelope import success
from ..errors import ForbiddenError, ServiceUnavailableError
from ..extensions import db
from ..runtime import current_state, repositories
from ..schemas.system import MetricsSchema
from .blueprint import EnvelopeBlueprint

probes = Blueprint("probes", __name__)
blp = EnvelopeBlueprint("system", __name__, url_prefix="/api/system", description="Operations")


@probes.route("/healthz")
def healthz():
    """The process is up and serving (no dependency is checked)."""
    return jsonify(success({"status": "ok"}))


@probes.route("/readyz")
def readyz():
    """The database and Redis both answer; 503 with what failed otherwise."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(select(literal(1)))  # no raw SQL: the scope guard reads every statement
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        repositories().transaction().end_read()
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        current_state().redis.client().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"failed: {type(exc).__name__}"
    if any(value != "ok" for value in checks.values()):
        raise ServiceUnavailableError("Not ready: a dependency does not answer.", {"checks": checks})
    return jsonify(success({"status": "ready", "checks": checks}))


@blp.route("/metrics")
@blp.response(200, MetricsSchema)
def metrics():
    """Repository operation counts and timings, and cache hit rates, of this process."""
    principal = current_principal()
    if principal.user is None or not principal.user.is_platform_admin:
        raise ForbiddenError("Only platform administrators see system metrics.")
    state = current_state()
    return {"repositories": state.metrics.snapshot(),
            "cache": {"hits": state.cache.hits, "misses": state.cache.misses, "ttl": state.cache.ttl}}
