"""Seed 000's auth routes: register, login, logout, refresh; plus password reset."""

from __future__ import annotations

from flask import request

from ..auth.permissions import permissions_of
from ..auth.principal import current_principal
from ..auth.service import IssuedSession
from ..errors import UnauthorizedError
from ..models import User
from ..schemas.auth import (
    AuthRequestSchema,
    AuthResponseSchema,
    AuthSessionSchema,
    PasswordResetConfirmSchema,
    PasswordResetRequestSchema,
    RefreshRequestSchema,
    RegisterRequestSchema,
)
from ..schemas.base import OkSchema
from ..runtime import auth_service, mailer, password_reset_link_base, repositories
from .blueprint import EnvelopeBlueprint, public

blp = EnvelopeBlueprint("auth", __name__, url_prefix="/api/auth", description="Sign-in for API clients")


def session_body(issued: IssuedSession) -> dict:
    session = issued.session
    return {
        "user_id": session.user_id, "tenant_id": session.tenant_id, "token": issued.access_token,
        "expires_at": session.access_expires_at, "refresh_token": issued.refresh_token,
        "refresh_expires_at": session.refresh_expires_at,
    }


def auth_response(user: User, issued: IssuedSession) -> dict:
    role = repositories().tenants.role_of(user.id, issued.session.tenant_id)
    return {"user": user, "session": session_body(issued), "permissions": permissions_of(role)}


def client_address() -> str:
    """The caller's address as the WSGI server saw it (put a proxy fix in front behind a proxy)."""
    return request.remote_addr or "unknown"


def _client() -> dict:
    return {"ip_address": client_address(), "user_agent": request.headers.get("User-Agent")}


@blp.route("/register", methods=["POST"])
@blp.arguments(RegisterRequestSchema)
@blp.response(201, AuthResponseSchema)
@public
def register(body: dict):
    """Create an account and its personal tenant, and sign in (rate-limited per address and email)."""
    service = auth_service()
    user = service.register(body["email"], body["password"], body.get("name"), address=client_address())
    return auth_response(user, service.open_session(user, **_client()))


@blp.route("/login", methods=["POST"])
@blp.arguments(AuthRequestSchema)
@blp.response(200, AuthResponseSchema)
@public
def login(body: dict):
    """Exchange email and password for an access token and a refresh token."""
    service = auth_service()
    user = service.authenticate(body["email"], body["password"], client_address())
    return auth_response(user, service.open_session(user, body.get("tenant_id"), **_client()))


@blp.route("/logout", methods=["POST"])
@blp.response(200, OkSchema)
def logout():
    """Revoke the session whose access token made this request."""
    principal = current_principal()
    if principal.via != "token":
        raise UnauthorizedError("Log out with the access token of the session to end.", {"reason": "not_a_session"})
    session = repositories().auth_sessions.require(principal.credential_id)
    auth_service().logout(session)
    return {"success": True}


@blp.route("/refresh", methods=["POST"])
@blp.arguments(RefreshRequestSchema)
@blp.response(200, AuthSessionSchema)
@public
def refresh(body: dict):
    """Rotate tokens: a new access and refresh token; the presented one stops working."""
    return session_body(auth_service().refresh(body["refresh_token"], **_client()))


@blp.route("/password-reset", methods=["POST"])
@blp.arguments(PasswordResetRequestSchema)
@blp.response(202, OkSchema)
@public
def request_password_reset(body: dict):
    """Mail a reset link if the account exists (the answer is the same either way)."""
    service = auth_service()
    service.throttle.hit(client_address(), body["email"])
    service.request_password_reset(body["email"], mailer(), password_reset_link_base())
    return {"success": True}


@blp.route("/password-reset/confirm", methods=["POST"])
@blp.arguments(PasswordResetConfirmSchema)
@blp.response(200, OkSchema)
@public
def confirm_password_reset(body: dict):
    """Set a new password with the token from the reset mail; signs out every API session.
    Rate-limited per client address, like sign-in."""
    auth_service().reset_password(body["token"], body["password"], address=client_address())
    return {"success": True}
