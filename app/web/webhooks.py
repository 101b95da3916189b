"""The studio's webhook pages: the list with a form to add one, and each webhook with its
delivery log, a test event, redeliver, switch off/on and delete (owners and admins).

The rules are the JSON API's (:class:`app.webhooks.service.WebhookService`). Every form
answers with a redirect (POST/redirect/GET); the secret of a new webhook crosses that
redirect once, through :mod:`.handoff`, and is never shown again.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField, SubmitField, URLField, widgets
from wtforms.validators import DataRequired, Length, Optional

from ..auth.principal import current_principal
from ..errors import AppError, NotFoundError
from ..models import DeliveryStatus
from ..runtime import current_state, repositories
from ..webhooks.service import WebhookService, webhook_runtime
from . import handoff
from .feedback import show_error
from .forms import ConfirmForm
from .studio import blp

LOG_PAGE_SIZE = 25


class EventChoices(SelectMultipleField):
    """The catalog's event types as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class WebhookForm(FlaskForm):
    url = URLField("Payload URL", validators=[DataRequired("Enter the URL to post events to."), Length(max=2000)],
                   description="https:// on the public internet; each event is POSTed there as JSON.",
                   render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"})
    description = StringField("Description (optional)", validators=[Optional(), Length(max=200)],
                              description="What receives it, e.g. 'Slack bridge'.")
    events = EventChoices("Events", validators=[DataRequired("Choose at least one event.")])
    is_active = BooleanField("Active", default=True)
    submit = SubmitField("Save webhook")


def webhook_form(formdata: Any = None, **data: Any) -> WebhookForm:
    form = WebhookForm(formdata=formdata, **data) if formdata is not None else WebhookForm(**data)
    form.events.choices = [(t.name, f"{t.name} — {t.description}" if t.description else t.name)
                           for t in webhook_runtime(current_app).catalog.types]
    return form


def webhook_service() -> WebhookService:
    """The service for the signed-in person; members and viewers get its 403."""
    service = WebhookService(repositories(), current_state(), webhook_runtime(current_app), current_principal())
    service.authorize()
    return service


def _found(action, *args: Any) -> Any:
    """Another tenant's webhook, or one that never was, is this page's plain 404."""
    try:
        return action(*args)
    except NotFoundError:
        abort(404)


@blp.route("/webhooks", methods=["GET", "POST"])
@login_required
def webhooks():
    """The tenant's webhooks and a form to add one."""
    service = webhook_service()
    form = webhook_form()
    status = 200
    if form.validate_on_submit():
        try:
            created = service.create(form.url.data, form.events.data, form.description.data, form.is_active.data)
        except AppError as error:
            show_error(form, error)
            status = error.status_code
        else:
            # POST/redirect/GET: the secret is shown once, on the page the redirect leads to.
            handoff.keep("webhook_secret", {"webhook_id": str(created.webhook.id), "secret": created.secret})
            return redirect(url_for("studio.webhook_page", webhook_id=created.webhook.id), 303)
    elif form.is_submitted():
        status = 400
    return render_template("studio/webhooks.html", form=form, hooks=service.list()), status


def _page(service: WebhookService, webhook_id: str, edit_form: WebhookForm | None = None, status: int = 200):
    hook = _found(service.get, webhook_id)
    total = service.delivery_log(hook.id, limit=1)[1]
    pages = max(1, -(-total // LOG_PAGE_SIZE))
    page_number = min(max(request.args.get("page", 1, type=int), 1), pages)
    log, _ = service.delivery_log(hook.id, LOG_PAGE_SIZE, (page_number - 1) * LOG_PAGE_SIZE)
    shown = handoff.take("webhook_secret") if request.method == "GET" else None
    secret = shown["secret"] if shown and shown.get("webhook_id") == str(hook.id) else None
    form = edit_form or webhook_form(url=hook.url, description=hook.description, events=list(hook.events),
                                     is_active=hook.is_active)
    form.submit.label.text = "Save changes"
    return render_template("studio/webhooks_detail.html", hook=hook, log=log, total=total, page=page_number, pages=pages,
                           secret=secret, form=form, button=ConfirmForm(formdata=None),
                           ended=(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)), status


@blp.route("/webhooks/<webhook_id>")
@login_required
def webhook_page(webhook_id: str):
    """One webhook: its settings, counters and delivery log."""
    return _page(webhook_service(), webhook_id)


@blp.route("/webhooks/<webhook_id>/edit", methods=["POST"])
@login_required
def edit_webhook(webhook_id: str):
    service = webhook_service()
    _found(service.get, webhook_id)
    form = webhook_form(request.form)
    if not form.validate_on_submit():
        return _page(service, webhook_id, form, 400)
    try:
        service.update(webhook_id, {"url": form.url.data, "events": form.events.data,
                                    "description": form.description.data, "is_active": form.is_active.data})
    except AppError as error:
        show_error(form, error)
        return _page(service, webhook_id, form, error.status_code)
    flash("The webhook is saved.", "success")
    return redirect(url_for("studio.webhook_page", webhook_id=webhook_id), 303)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@blp.route("/webhooks/<webhook_id>/test", methods=["POST"])
@login_required
def test_webhook(webhook_id: str):
    """Queue a test event; the log shows how it went once a worker sent it."""
    service = webhook_service()
    _confirmed()
    _found(service.send_test, webhook_id)
    flash("A test event is on its way; reload to see how it went.", "success")
    return redirect(url_for("studio.webhook_page", webhook_id=webhook_id), 303)


@blp.route("/webhooks/<webhook_id>/switch", methods=["POST"])
@login_required
def switch_webhook(webhook_id: str):
    """Switch a webhook off, or on again (its run of failures forgotten)."""
    service = webhook_service()
    _confirmed()
    hook = _found(service.get, webhook_id)
    service.update(hook.id, {"is_active": not hook.is_active})
    flash("The webhook is on again." if hook.is_active else "The webhook is off: no events are sent to it.",
          "success")
    return redirect(url_for("studio.webhook_page", webhook_id=webhook_id), 303)


@blp.route("/webhooks/<webhook_id>/delete", methods=["POST"])
@login_required
def delete_webhook(webhook_id: str):
    service = webhook_service()
    _confirmed()
    hook = _found(service.delete, webhook_id)
    flash(f"The webhook to {hook.url} is deleted, with its delivery log.", "success")
    return redirect(url_for("studio.webhooks"), 303)


@blp.route("/webhook-deliveries/<delivery_id>/redeliver", methods=["POST"])
@login_required
def redeliver_webhook(delivery_id: str):
    """Send an ended delivery's event again, as a new delivery."""
    service = webhook_service()
    _confirmed()
    original = _found(service.get_delivery, delivery_id)
    try:
        service.redeliver(original.id)
    except AppError as error:
        flash(error.message, "error")
    else:
        flash(f"The {original.event_type} event is on its way again.", "success")
    return redirect(url_for("studio.webhook_page", webhook_id=original.webhook_id), 303)
