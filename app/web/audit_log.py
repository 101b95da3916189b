"""The audit log in the studio: owners and admins read their tenant's, platform
administrators every tenant's; filtered by person, action, entity and dates, a page at a time.

The rules are the JSON API's (:func:`app.api.audit_log.audit_page`); this page only turns a
GET form into its query and shows the entries with their actors' names.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, SubmitField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from ..api.audit_log import audit_page, may_read_audit_log, reads_every_tenant
from ..auth.principal import current_principal
from ..errors import ForbiddenError
from ..models import User
from ..runtime import repositories
from .studio import blp

PAGE_SIZE = 25
#: As the API's filters: no control characters (PostgreSQL cannot compare a NUL).
PRINTABLE = Regexp(r"^[^\x00-\x1f\x7f]*\Z", message="Must not hold control characters.")


class AuditFilterForm(FlaskForm):
    """Filters of the audit log (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    user = StringField("Person", validators=[Optional(), Length(max=254), PRINTABLE],
                       description="Their email; leave empty for everyone.")
    action = StringField("Action", validators=[Optional(), Length(max=100), PRINTABLE],
                         description="e.g. auth.login, api_key.create, run.cancel.")
    entity_type = StringField("Entity type", validators=[Optional(), Length(max=50), PRINTABLE])
    entity_id = StringField("Entity id", validators=[Optional(), Length(max=100), PRINTABLE])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
    submit = SubmitField("Filter")

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Must not be before From.")


def _query(form: AuditFilterForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's query for the form, and the form's own values for the pager's links."""
    query: dict[str, Any] = {"action": (form.action.data or "").strip() or None,
                             "entity_type": (form.entity_type.data or "").strip() or None,
                             "entity_id": (form.entity_id.data or "").strip() or None,
                             "since": form.since.data, "until": form.until.data}
    email = (form.user.data or "").strip()
    if email:
        person = repositories().users.find_by_email(email)
        if person is None:
            form.user.errors = [*form.user.errors, "No account uses that email."]
        query["user_id"] = person.id if person else None
    kept = {name: request.args[name] for name in ("user", "action", "entity_type", "entity_id", "since", "until")
            if request.args.get(name)}
    return query, kept


@blp.route("/audit-log")
@login_required
def audit_log():
    """Who did what, newest first."""
    principal = current_principal()
    if not may_read_audit_log(principal):
        raise ForbiddenError(f"Your role ({principal.role.value}) may not read the audit log; owners and admins may.",
                             {"resource": "audit_log", "action": "read", "role": principal.role.value})
    form = AuditFilterForm(formdata=request.args)
    status = 200
    query: dict[str, Any] = {}
    kept: dict[str, str] = {}
    if request.args and not form.validate():
        status = 400
    else:
        query, kept = _query(form)
        if form.user.errors:
            status = 400
    repos = repositories()
    entries, total, page_number = [], 0, max(request.args.get("page", 1, type=int), 1)
    if status != 400:
        found = audit_page(repos, principal, {**query, "limit": PAGE_SIZE, "offset": (page_number - 1) * PAGE_SIZE})
        if not found.items and found.total and page_number > 1:
            # A page past the end shows the last page there is.
            page_number = -(-found.total // PAGE_SIZE)
            found = audit_page(repos, principal, {**query, "limit": PAGE_SIZE,
                                                  "offset": (page_number - 1) * PAGE_SIZE})
        entries, total = found.items, found.total
    pages = max(1, -(-total // PAGE_SIZE))
    people = {user.id: user for user in repos.users.list(User.id.in_({e.user_id for e in entries if e.user_id}))}
    every_tenant = reads_every_tenant(principal)
    tenants = {}
    if every_tenant:
        tenant_ids = {entry.tenant_id for entry in entries if entry.tenant_id}
        tenants = {tenant_id: repos.tenants.info(tenant_id) for tenant_id in tenant_ids}
    return render_template("studio/audit_log.html", form=form, entries=entries, people=people, tenants=tenants,
                           every_tenant=every_tenant, total=total, page=page_number, pages=pages,
                           query=kept), status
