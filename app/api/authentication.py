"""Authentication of every JSON request, before any view runs.

Secure by default: an endpoint under ``/api/`` needs a principal unless its view is marked
:func:`app.api.blueprint.public`, so a new endpoint (a plugin's too) cannot forget it.
A browser's session cookie authenticates only safe methods (GET/HEAD), so no other site
can make a signed-in browser change anything through the JSON API.
"""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user

from ..auth.authentication import principal_from_bearer, principal_from_browser
from ..auth.principal import set_principal
from ..errors import UnauthorizedError
from ..guests import refuse_guest_outside_welcome
from ..runtime import repositories
from .blueprint import PUBLIC_ATTRIBUTE

TENANT_HEADER = "X-Tenant-ID"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _is_public(endpoint: str | None) -> bool:
    if endpoint is None:  # no route matched: let the 404/405 come through
        return True
    if endpoint.startswith("api-docs."):  # the OpenAPI document and its viewer
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(view and getattr(view, PUBLIC_ATTRIBUTE, False))


def authenticate_api_request() -> None:
    if not request.path.startswith("/api/"):
        return
    set_principal(None)
    repos = repositories()
    authorization = request.headers.get("Authorization")
    principal = None
    if authorization:
        principal = principal_from_bearer(repos, authorization, request.headers.get(TENANT_HEADER))
    elif request.method in SAFE_METHODS and current_user.is_authenticated:
        principal = principal_from_browser(repos, current_user._get_current_object(), session.get("tenant_id"))
    set_principal(principal)
    if principal is None and not _is_public(request.endpoint):
        raise UnauthorizedError()
    refuse_guest_outside_welcome(principal)
