"""The signed-in person's account pages: credits with the usage history, and provider keys.

The rules are the JSON API's (:mod:`app.api.account`): the same balance view, the same
checks on a provider and a key, the same add and revoke with their domain events. A key
comes in once and is never shown again, only its last four characters.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from ..api.account import add_key, credits_view, revoke_key
from ..auth.principal import current_principal
from ..errors import AppError, IllegalTransitionError, NotFoundError
from ..models import Role, UsageStatus
from ..repositories import UsageFilter
from ..runtime import current_state, repositories
from .feedback import show_error
from .forms import ConfirmForm, ProviderKeyForm, UsageFilterForm
from .studio import blp

USAGE_PAGE_SIZE = 25


@blp.route("/account/credits")
@login_required
def credits():
    """Tier and balance, and the usage history with filters and pages."""
    principal = current_principal()
    repos = repositories()
    with repos.transaction():  # the first look opens the account
        balance = credits_view(repos.credit_accounts.account_for(principal.user_id))
    form = UsageFilterForm(formdata=request.args)
    usage_filter = UsageFilter()
    status = 200
    if request.args and not form.validate():
        status = 400
    else:
        usage_filter = UsageFilter(status=UsageStatus(form.status.data) if form.status.data else None,
                                   model=(form.model.data or "").strip() or None)
    total = repos.usage_log.for_user(principal.user_id, usage_filter, limit=1).total
    pages = max(1, -(-total // USAGE_PAGE_SIZE))
    # A page past the end (or not a number) shows the nearest page there is.
    page_number = min(max(request.args.get("page", 1, type=int), 1), pages)
    usage = repos.usage_log.for_user(principal.user_id, usage_filter, limit=USAGE_PAGE_SIZE,
                                     offset=(page_number - 1) * USAGE_PAGE_SIZE)
    query = {key: value for key, value in (("status", form.status.data), ("model", form.model.data)) if value}
    return render_template("studio/credits.html", balance=balance, usage=usage, form=form, page=page_number,
                           pages=pages, query=query), status


def _key_providers() -> list[tuple[str, str]]:
    """Installed providers that take a key, as select choices."""
    providers = current_state().registry.providers
    names = sorted(name for name, provider in providers.items() if getattr(provider, "requires_key", True))
    return [SelectChoice(value="", label="— choose —"), *(SelectChoice(value=name, label=name) for name in names)]


def _key_form(formdata=None) -> ProviderKeyForm:
    form = ProviderKeyForm() if formdata is None else ProviderKeyForm(formdata=formdata)
    form.provider.choices = _key_providers()
    if current_principal().role.at_least(Role.ADMIN):
        form.owner.choices = [SelectChoice(value="me", label="Just me"),
                              SelectChoice(value="tenant", label="Everyone in this tenant")]
    return form


@blp.route("/account/provider-keys", methods=["GET", "POST"])
@login_required
def provider_keys():
    """Your keys and, for owners and admins, the tenant's: masked; add one, revoke one."""
    principal = current_principal()
    form = _key_form()
    status = 200
    if form.validate_on_submit():
        for_tenant = form.owner.data == "tenant"
        body = {"provider": form.provider.data, "key": form.key.data, "label": form.label.data}
        try:
            if for_tenant:
                key = add_key(body, tenant_id=principal.tenant_id, created_by=principal.user_id)
            else:
                key = add_key(body, user_id=principal.user_id, created_by=principal.user_id)
        except AppError as error:
            show_error(form, error)
            status = error.status_code
        else:
            flash(f"Your {key.provider} key {key.masked} is stored.", "success")
            return redirect(url_for("studio.provider_keys"))
    elif form.is_submitted():
        status = 400
    repos = repositories()
    mine = repos.provider_keys.for_user(principal.user_id)
    manages_tenant = principal.role.at_least(Role.ADMIN)
    tenant_keys = repos.provider_keys.for_tenant(principal.tenant_id) if manages_tenant else []
    return render_template("studio/provider_keys.html", form=form, mine=mine, tenant_keys=tenant_keys,
                           manages_tenant=manages_tenant, revoke_form=ConfirmForm(formdata=None)), status


@blp.route("/account/provider-keys/<key_id>/revoke", methods=["POST"])
@login_required
def revoke_provider_key(key_id: str):
    principal = current_principal()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    repos = repositories()
    key = repos.provider_keys.of_user(key_id, principal.user_id)
    if key is None and principal.role.at_least(Role.ADMIN):
        key = repos.provider_keys.of_tenant(key_id, principal.tenant_id)
    try:
        revoke_key(key, key_id, principal.user_id)
    except NotFoundError:
        abort(404)  # another person's or tenant's key is simply not here
    except IllegalTransitionError:
        flash(f"The {key.provider} key {key.masked} is already revoked.", "info")
    else:
        flash(f"The {key.provider} key {key.masked} is revoked.", "success")
    return redirect(url_for("studio.provider_keys"))
