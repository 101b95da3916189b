"""The security headers every response carries (issue 11, "hostile input").

Pages, the JSON API, the API docs, artifacts and static files all get a Content-Security-
Policy that runs only this site's own script files (no inline script or style, so text a
model or a user wrote cannot become code), refuses to be framed, and sends the referrer to
this site only. A header a view set itself is left as it is.

Two pages of third-party packages cannot live under the studio's policy, and get one of
their own (never one that may be framed):

- rq-dashboard (``/admin/rq``, platform administrators only) writes inline ``<script>``
  blocks and ``style`` attributes, and compiles its Underscore templates with
  ``new Function``; it is served from its package, so it is loosened rather than rewritten.
- Artifacts are bytes a step wrote, which may be HTML or SVG: ``sandbox`` keeps them from
  running script in this site's origin should a browser open one.

The Swagger UI page needs nothing of its own: its start-up script is a static file
(``app/templates/swagger_ui.html`` replaces flask-smorest's inline one).
"""

from __future__ import annotations

from typing import Mapping

from flask import Flask, Response, request

Policy = Mapping[str, tuple[str, ...]]

STUDIO_POLICY: Policy = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
RQ_DASHBOARD_POLICY: Policy = {
    **STUDIO_POLICY,
    "script-src": ("'self'", "'unsafe-inline'", "'unsafe-eval'"),
    "style-src": ("'self'", "'unsafe-inline'"),
}
ARTIFACT_POLICY: Policy = {**STUDIO_POLICY, "sandbox": ()}

#: Endpoints (or, ending in ".", every endpoint of a blueprint) with a policy of their own.
POLICIES: Mapping[str, Policy] = {
    "rq_dashboard.": RQ_DASHBOARD_POLICY,
    "artifacts.download_artifact": ARTIFACT_POLICY,
}

FIXED_HEADERS: Mapping[str, str] = {
    "X-Frame-Options": "DENY",  # frame-ancestors' elder, for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render_policy(policy: Policy) -> str:
    """Write a policy the way the header spells it: ``directive source …; …``."""
    return "; ".join(" ".join((directive, *sources)) for directive, sources in policy.items())


#: The header values, written once: every response sends one.
_STUDIO_HEADER = render_policy(STUDIO_POLICY)
_HEADERS = {name: render_policy(policy) for name, policy in POLICIES.items()}


def policy_for(endpoint: str | None) -> str:
    """The Content-Security-Policy of a request's endpoint (``None`` when no route matched)."""
    if endpoint:
        for name, header in _HEADERS.items():
            if endpoint == name or (name.endswith(".") and endpoint.startswith(name)):
                return header
    return _STUDIO_HEADER


def add_security_headers(response: Response) -> Response:
    """Add each security header the view did not set itself."""
    response.headers.setdefault("Content-Security-Policy", policy_for(request.endpoint))
    for name, value in FIXED_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def install(app: Flask) -> None:
    """Send the security headers on every response of the app."""
    app.after_request(add_security_headers)
