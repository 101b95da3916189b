"""The browser studio: server-rendered pages with CSRF-protected forms."""

from __future__ import annotations

import time

from flask import Flask, abort, flash, redirect, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..auth.authentication import principal_from_browser
from ..auth.principal import optional_principal, set_principal
from ..errors import ValidationError
from ..extensions import csrf, login_manager
from ..feature_flags import feature_enabled
from ..guests import guests_welcome_at
from ..markdown_text import render_markdown
from ..models import Role
from ..runtime import current_state, repositories
from . import (  # noqa: F401 - they add pages to studio.blp
    account,
    accounts,
    admin,
    audit_log,  # noqa: F401,I001 - adds the audit log's page to studio.blp
    exports,
    feature_flags,
    notifications,
    runs,
    studio,
    webhooks,  # noqa: F401,I001 - adds the webhook pages to studio.blp
    workflows,
)
from .forms import ConfirmForm
from .model_choices import text_model_choices
from .navigation import admin_links, plugin_links
from .word_diff import word_diff


def load_user(session_id: str):
    """Flask-Login's loader: the id and password fingerprint must both still match."""
    user_id, _, fingerprint = session_id.partition(":")
    user = repositories().users.get(user_id)
    if user is None or not user.can_sign_in or user.password_fingerprint != fingerprint:
        return None
    return user


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def protect_forms() -> None:
    """Check the CSRF token of every browser form post, a plugin's pages' included.

    The JSON API is exempt: it changes state only for bearer credentials, which a browser
    never attaches by itself. So is rq-dashboard, whose script sends no token; its admin
    session cookie is SameSite=Lax, which browsers withhold from cross-site posts.
    """
    if request.method not in UNSAFE_METHODS:
        return
    if request.path.startswith("/api/") or request.blueprint == "rq_dashboard":
        return
    try:
        csrf.protect()
    except CSRFError as error:
        # Left as Werkzeug's bare 400 it renders as "send well-formed JSON", which tells a
        # person at a form nothing; say what went wrong and what to do.
        raise ValidationError("The form expired or did not come from this site; reload the page and send it again.",
                              {"reason": "csrf", "detail": error.description}) from error


def set_browser_principal() -> None:
    if request.path.startswith("/api/") or request.endpoint == "static":
        return
    principal = None
    if current_user.is_authenticated:
        principal = principal_from_browser(repositories(), current_user._get_current_object(),
                                           session.get("tenant_id"))
    set_principal(principal)
    if principal is not None and principal.role == Role.GUEST and not guests_welcome_at(request.endpoint):
        return guest_elsewhere()


def guest_elsewhere():
    """A guest on a page of the workspace at large (its dashboard, runs, members): a GET goes
    to the first page that welcomes guests (a plugin's, such as the projects shared with
    them); anything else is refused."""
    if request.method in ("GET", "HEAD"):
        for link in plugin_links():
            if guests_welcome_at(link.endpoint):
                flash("You are a guest of this workspace: you see only what was shared with you.", "info")
                return redirect(url_for(link.endpoint))
    abort(403)


def studio_context() -> dict:
    principal = optional_principal()
    context = {"principal": principal, "my_tenants": [], "current_tenant": None, "logout_form": ConfirmForm,
               "plugin_links": [], "unread_notifications": 0,
               # The page's moment as Redis stream ids count it: its live parts follow from here.
               "page_moment_ms": int(time.time() * 1000)}
    if principal is not None and principal.user is not None:
        context["my_tenants"] = repositories().tenants.for_user(principal.user.id)
        context["current_tenant"] = repositories().tenants.info(principal.tenant_id)
        context["plugin_links"] = plugin_links()
        context["admin_links"] = admin_links()
        if principal.role == Role.GUEST:
            context["plugin_links"] = [link for link in context["plugin_links"] if guests_welcome_at(link.endpoint)]
            context["admin_links"] = []
        context["unread_notifications"] = repositories().notifications.unread_count(
            principal.user.id, current_state().clock.now())
    return context


def favicon():
    """Browsers ask for /favicon.ico whatever the page links; send them to the icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


def register_web(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    app.before_request(protect_forms)
    app.before_request(set_browser_principal)
    app.context_processor(studio_context)
    # A global, not a context value: the macros of _form.html are imported without context.
    app.jinja_env.globals["text_model_choices"] = text_model_choices
    app.jinja_env.filters["markdown"] = render_markdown  # every page, plugins' too
    app.jinja_env.globals["word_diff"] = word_diff  # _choose.html, imported without context
    app.jinja_env.globals["feature_enabled"] = feature_enabled  # {% if feature_enabled('key', default=True) %}
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.register_blueprint(accounts.blp)
    app.register_blueprint(studio.blp)
    admin.register_admin(app)
