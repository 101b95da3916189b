"""The signed-in studio: dashboard, API keys, and switching tenant.

The blueprint ``studio`` also carries the pages of :mod:`.runs`, :mod:`.workflows` and
:mod:`.account`, so plugins link to ``studio.run_page`` and friends by one stable name.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import login_required

from ..auth.api_keys import DEFAULT_ROLE, ApiKeyService
from ..auth.principal import Principal, current_principal
from ..engine.run_progress import attach_progress
from ..errors import AppError
from ..models import DomainEventRecord, Role, Run
from ..runtime import repositories
from . import handoff
from .feedback import show_error
from .forms import ApiKeyForm, ConfirmForm, role_choices
from .run_subjects import subjects_of

blp = Blueprint("studio", __name__)

#: Runs the dashboard shows, newest first.
RECENT_RUNS = 15


@blp.route("/")
@login_required
def dashboard():
    principal = current_principal()
    repos = repositories()
    members = repos.memberships.with_users()
    events = repos.events.list(order_by=[DomainEventRecord.occurred_at.desc()], limit=10)
    runs = attach_progress(repos, repos.runs.list(order_by=[Run.created_at.desc(), Run.id], limit=RECENT_RUNS)) \
        if principal.can("runs", "read") else []
    return render_template("studio/dashboard.html", members=members, events=events, runs=runs,
                           subjects=subjects_of(runs), switch_form=ConfirmForm(), principal=principal)


@blp.route("/tenants/<tenant_id>/switch", methods=["POST"])
@login_required
def switch_tenant(tenant_id: str):
    form = ConfirmForm()
    principal = current_principal()
    if not form.validate_on_submit():
        abort(400)
    if repositories().tenants.role_of(principal.user.id, tenant_id) is None:
        abort(404)
    session["tenant_id"] = tenant_id
    flash("Switched tenant.", "info")
    return redirect(url_for("studio.dashboard"))


def api_key_form(principal: Principal, *, fresh: bool = False) -> ApiKeyForm:
    """The create-a-key form, offering the roles the caller may hand out; the default role is
    chosen unless a posted form chose another (``fresh``: an empty form after a key was made)."""
    form = ApiKeyForm(formdata=None) if fresh else ApiKeyForm()
    form.role.choices = role_choices(principal.role)
    if fresh or not form.is_submitted():
        form.role.data = (DEFAULT_ROLE if principal.role.at_least(DEFAULT_ROLE) else principal.role).value
    return form


@blp.route("/api-keys", methods=["GET", "POST"])
@login_required
def api_keys():
    principal = current_principal()
    service = ApiKeyService(repositories(), principal)
    form = api_key_form(principal)
    status = 200
    if form.validate_on_submit():
        try:
            issued = service.create(form.name.data, Role(form.role.data), form.expires_in_days.data)
        except AppError as error:
            show_error(form, error)
            status = error.status_code
        else:
            # POST/redirect/GET: a reload of the page that shows the secret makes no second key.
            handoff.keep("api_key", {"name": issued.key.name, "secret": issued.secret})
            return redirect(url_for("studio.api_keys"), 303)
    elif form.is_submitted():
        status = 400
    issued = handoff.take("api_key") if request.method == "GET" else None
    keys = service.list() if principal.can("api_keys", "read") else []
    return render_template("studio/api_keys.html", form=form, keys=keys, issued=issued,
                           revoke_form=ConfirmForm()), status


@blp.route("/api-keys/<key_id>/revoke", methods=["POST"])
@login_required
def revoke_api_key(key_id: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        key = ApiKeyService(repositories(), current_principal()).revoke(key_id)
    except AppError as error:
        if error.status_code == 404:
            abort(404)
        flash(error.message, "error")
    else:
        flash(f"Key “{key.name}” is revoked.", "success")
    return redirect(url_for("studio.api_keys"))
