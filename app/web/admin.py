"""The RQ dashboard at ``/admin/rq``, open only to platform administrators.

rq-dashboard has no authentication of its own (shared/FACTS.md), so a guard runs before
each of its requests. It connects lazily, on first use, to the app's Redis — the embedded
server may not be running until then.
"""

from __future__ import annotations

import rq_dashboard
from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user
from rq.serializers import JSONSerializer
from rq_dashboard.web import setup_rq_connection

from ..runtime import current_state

PREFIX = "/admin/rq"


def guard_rq_dashboard():
    if request.blueprint != "rq_dashboard":
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path))
    if not current_user.is_platform_admin:
        abort(403)
    app = current_app._get_current_object()
    if getattr(app, "redis_conn", None) is None:
        app.config["RQ_DASHBOARD_REDIS_URL"] = current_state().redis.url
        setup_rq_connection(app)
    return None


def register_admin(app: Flask) -> None:
    # rq-dashboard keeps its serializer in a module-level setting; our jobs are JSON.
    rq_dashboard.web.config.serializer = JSONSerializer
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 2500)
    app.before_request(guard_rq_dashboard)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=PREFIX)
