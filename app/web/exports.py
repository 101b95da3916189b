"""The studio's export pages: the Export button on a subject's page (``_export_button.html``),
the person's exports, and each export with its progress, build log, download and delete.

The rules are the JSON API's (:class:`app.exports.service.ExportService`): the same formats,
sources and refusals, and a person sees only their own exports. Every form answers with a
redirect (POST/redirect/GET). A refused export goes back to the page its button was on: a
refused format or an empty subject is said beside the button's format (handed across the
redirect by :mod:`.handoff`), anything else above the page. The page of a queued export
refreshes itself until the worker is done.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.principal import current_principal, optional_principal
from ..errors import AppError, NotFoundError
from ..exports.errors import ExportRefusedError
from ..exports.service import export_service
from ..models import ExportType
from ..runtime import current_state
from . import handoff
from .forms import ConfirmForm
from .studio import blp

PAGE_SIZE = 25

#: How the format select names each format.
FORMAT_LABELS = {ExportType.EPUB: "EPUB (e-readers)", ExportType.PDF: "PDF (print)",
                 ExportType.DOCX: "Word (DOCX)", ExportType.HTML: "HTML (one web page)",
                 ExportType.MARKDOWN: "Markdown"}

#: The API's field names as a person reads them, before that field's complaint.
FIELD_LABELS = {"exportType": "Format", "subjectKind": "What to export", "settings": "Layout"}


class ExportForm(FlaskForm):
    """What the Export button posts (``_export_button.html`` renders it). The format is not
    checked against a list here: the service says why one is refused (``mobi`` is retired,
    and it says to take EPUB)."""

    subject_kind = HiddenField(validators=[DataRequired(), Length(max=100)])
    subject_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    export_type = StringField("Format", validators=[DataRequired(), Length(max=20)])
    #: One per rendering of the button: posting it twice (a double click, a reload) answers
    #: the export the first post made, as ``Idempotency-Key`` does over JSON.
    request_key = HiddenField(validators=[Optional(), Length(max=64)])
    next = HiddenField(validators=[Optional(), Length(max=500)])


@blp.app_template_global()
def export_formats() -> list[tuple[str, str, bool]]:
    """``(value, label, chosen)`` of each format, for the Export button's select: the person's
    ``export_format`` preference is chosen when it is one of these, else EPUB."""
    principal = optional_principal()
    user = principal.user if principal is not None else None
    preferred = (getattr(user, "preferences", None) or {}).get("export_format")
    chosen = preferred if preferred in {kind.value for kind in ExportType} else ExportType.EPUB.value
    return [(kind.value, label, kind.value == chosen) for kind, label in FORMAT_LABELS.items()]


@blp.app_template_global()
def may_start_exports() -> bool:
    """Whether the signed-in person's role may export (viewers may not): the button shows only then."""
    principal = optional_principal()
    return principal is not None and principal.can("exports", "create")


@blp.app_template_global()
def export_request_key() -> str:
    """A fresh key for one rendering of an Export button (see ``ExportForm.request_key``)."""
    return uuid.uuid4().hex


@blp.app_template_global()
def refused_export(subject_kind: str, subject_id: Any) -> dict[str, Any] | None:
    """Why this subject's Export button was just refused (``message``, ``export_type``), once:
    its page shows it beside the format."""
    return handoff.take(_refusal(subject_kind, subject_id))


def _refusal(subject_kind: str, subject_id: Any) -> str:
    return f"export_refused:{subject_kind}:{subject_id}"


def button_page(wanted: str | None) -> str | None:
    """The page the Export button was on, if it is a path of this studio (one slash, no
    scheme, no host) other than the list of exports; None otherwise."""
    wanted = wanted or ""
    if not wanted.startswith("/") or wanted.startswith(("//", "/\\")) or "\n" in wanted or len(wanted) >= 500:
        return None
    return None if urlsplit(wanted).path == url_for("studio.exports") else wanted


def about_the_choice(error: AppError) -> bool:
    """Whether a refusal is about what the button chose — its format, or a subject with nothing
    to export yet — rather than about the subject itself (not found, a role that may not).
    The first is said beside the button, which the page it came from shows; the second above
    the page, which may have no button for it (another tenant's, a page gone stale)."""
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    return isinstance(error, ExportRefusedError) or "exportType" in (fields or {})


def said(error: AppError) -> str:
    """What a refusal tells a person: each field's complaint (under the field's name where the
    complaint needs it), else the error's message."""
    if isinstance(error, NotFoundError):
        return "That was not found: it was deleted, or it is not yours to export."
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    if not fields:
        return error.message
    parts = []
    for name, messages in fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            parts.append(f"{FIELD_LABELS[name]}: {message}" if name in FIELD_LABELS else str(message))
    return " ".join(dict.fromkeys(parts))


@blp.route("/exports", methods=["POST"])
@login_required
def start_export():
    """Queue an export of a subject (the Export button); its page follows it to the end."""
    form = ExportForm()
    back = button_page(form.next.data)
    if not form.validate_on_submit():
        flash("Say what to export, and in which format.", "error")
        return redirect(back or url_for("studio.exports"), 303)
    key = f"studio:{form.request_key.data}:{form.export_type.data}" if form.request_key.data else None
    try:
        current_principal().require("exports", "create")
        job, _ = export_service().start(subject_kind=form.subject_kind.data, subject_id=form.subject_id.data,
                                        export_type=form.export_type.data, idempotency_key=key)
    except AppError as error:
        if back is not None and about_the_choice(error):
            handoff.keep(_refusal(form.subject_kind.data, form.subject_id.data),
                         {"message": said(error), "export_type": form.export_type.data})
        else:
            flash(said(error), "error")
        return redirect(back or url_for("studio.exports"), 303)
    return redirect(url_for("studio.export_page", export_id=job.id), 303)


@blp.route("/exports")
@login_required
def exports():
    """The signed-in person's exports in this tenant, newest first, a page at a time."""
    current_principal().require("exports", "read")
    service = export_service()
    total = service.page(limit=1)[1]
    pages = max(1, -(-total // PAGE_SIZE))
    page_number = min(max(request.args.get("page", 1, type=int), 1), pages)
    items, _ = service.page(limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    return render_template("studio/exports.html", items=items, total=total, page=page_number, pages=pages,
                           now=current_state().clock.now(), labels=FORMAT_LABELS)


def _own_export(export_id: str) -> Any:
    """The person's export; another person's, another tenant's or none at all is a plain 404."""
    try:
        return export_service().get(export_id)
    except NotFoundError:
        abort(404)


@blp.route("/exports/<export_id>")
@login_required
def export_page(export_id: str):
    """One export: its status and progress (the page refreshes while the job works), its build
    log, and the file to download once it is made."""
    current_principal().require("exports", "read")
    job = _own_export(export_id)
    return render_template("studio/export.html", job=job, now=current_state().clock.now(), labels=FORMAT_LABELS,
                           button=ConfirmForm(formdata=None))


@blp.route("/exports/<export_id>/delete", methods=["POST"])
@login_required
def delete_export(export_id: str):
    """Remove the export and, unless another export holds the same bytes, its file."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    current_principal().require("exports", "delete")
    try:
        job = export_service().delete(export_id)
    except NotFoundError:
        abort(404)
    flash(f"The {job.export_type.value.upper()} export is deleted.", "success")
    return redirect(url_for("studio.exports"), 303)
