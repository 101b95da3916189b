"""Register, sign in, sign out, and reset a forgotten password, in the browser."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import audit
from ..api.auth import client_address
from ..errors import AppError, RateLimitedError
from ..runtime import auth_service, mailer, password_reset_link_base, repositories
from .feedback import show_error
from .forms import (
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)

blp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` to a path on this site (no open redirect)."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("studio.dashboard")


def _sign_in(user) -> None:
    session.clear()  # a fresh session at sign-in: no fixation of an earlier one
    login_user(user)
    session["tenant_id"] = str(auth_service().default_tenant(user))


def prefill_email(form) -> None:
    """The address a link brought (``?email=``, an invitation's), in the empty form."""
    if not form.is_submitted() and request.args.get("email"):
        form.email.data = request.args["email"][:320]


def password_rule() -> str:
    """The password policy, shown under the field before anyone breaks it."""
    return (f"At least {current_app.config['PASSWORD_MIN_LENGTH']} characters, "
            "not starting or ending with a space.")


@blp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = RegisterForm()
    form.password.description = password_rule()
    prefill_email(form)
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            user = auth_service().register(form.email.data, form.password.data, form.name.data,
                                           address=client_address())
        except RateLimitedError as error:
            flash(error.message, "error")
            status = 429
        except AppError as error:
            show_error(form, error)
        else:
            _sign_in(user)
            flash("Welcome to Inkwright. Your personal studio is ready.", "success")
            # Back where they came from: an invitation's page, say (``next`` stays on this site).
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/register.html", form=form), status


@blp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("studio.dashboard"))
    form = LoginForm()
    prefill_email(form)
    status = 200
    if form.validate_on_submit():
        try:
            user = auth_service().authenticate(form.email.data, form.password.data, client_address())
        except RateLimitedError as error:
            flash(error.message, "error")
            status = 429
        except AppError as error:
            form.password.errors = [*form.password.errors, error.message]
            status = 401
        else:
            _sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form), status


@blp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        # The browser's session lives in its cookie: nothing in the database ends, so the
        # entry commits on its own (app/audit.py).
        audit.record(repositories(), "auth.logout", "user", current_user.id, metadata={"via": "session"})
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


@blp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service = auth_service()
        try:
            service.throttle.hit(client_address(), form.email.data)
            service.request_password_reset(form.email.data, mailer(), password_reset_link_base())
        except RateLimitedError as error:
            flash(error.message, "error")
            return render_template("auth/forgot.html", form=form), 429
        flash("If an account uses that email, a reset link is on its way.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("auth/forgot.html", form=form), 400 if form.is_submitted() else 200


@blp.route("/reset-password/", defaults={"token": ""}, methods=["GET"])
@blp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    service = auth_service()
    form = ResetPasswordForm()
    form.password.description = password_rule()
    try:
        # Every look at a link counts against the address (the page tells a live link from
        # a dead one, as the form does); the new password is then set without a second count.
        service.check_reset_token(token, client_address())
    except RateLimitedError as error:
        flash(error.message, "error")
        return render_template("auth/reset.html", form=form, token=token), 429
    except AppError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.forgot_password"))
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except AppError as error:
            show_error(form, error)
        else:
            flash("Your password is changed; sign in with it.", "success")
            return redirect(url_for("accounts.login"))
    return render_template("auth/reset.html", form=form, token=token), 400 if form.is_submitted() else 200
