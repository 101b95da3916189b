"""app/security_headers.py: every response carries the security headers (issue 11), and no
template of the core or of a first-party plugin needs the policy loosened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Response

from app.models import Artifact
from app.runtime import current_state, repositories
from app.security_headers import RQ_DASHBOARD_POLICY, STUDIO_POLICY, policy_for, render_policy

ROOT = Path(__file__).resolve().parent.parent
STUDIO_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
              "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
FIXED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def assert_security_headers(response, csp: str = STUDIO_CSP) -> None:
    assert response.headers["Content-Security-Policy"] == csp
    for name, value in FIXED.items():
        assert response.headers[name] == value, name


@pytest.fixture
def artifact_id(app, user) -> str:
    """An artifact of the user's tenant, stored as a step would store it (HTML, as a model may write)."""
    with app.app_context():
        stored = current_state().storage.put(b"<script>alert('from a model')</script>")
        repos = repositories(user.tenant_id)
        with repos.transaction():
            artifact = repos.artifacts.add(Artifact(
                media_type="text/html", uri=stored.uri, content_hash=stored.content_hash,
                size_bytes=stored.size_bytes, filename="page.html"))
        return str(artifact.id)


def test_the_studio_policy_reads_as_the_issue_asks():
    assert render_policy(STUDIO_POLICY) == STUDIO_CSP


@pytest.mark.parametrize("path", ["/login", "/register", "/static/inkwright.css", "/static/run.js", "/api/docs",
                                  "/api/openapi.json", "/healthz", "/no-such-page"])
def test_pages_static_files_and_the_api_docs_carry_the_headers(client, path):
    assert_security_headers(client.get(path))


def test_the_api_carries_the_headers_with_and_without_credentials(client, api_client):
    anonymous = client.get("/api/me")
    signed_in = api_client.get("/api/me")

    assert anonymous.status_code == 401 and signed_in.status_code == 200
    assert_security_headers(anonymous)
    assert_security_headers(signed_in)


def test_artifact_content_is_sandboxed(api_client, artifact_id):
    response = api_client.get(f"/api/artifacts/{artifact_id}/content")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_security_headers(response, STUDIO_CSP + "; sandbox")


def test_the_rq_dashboard_may_run_its_own_inline_script_but_not_be_framed(client):
    response = client.get("/admin/rq/")  # anonymous: sent to sign in, by the dashboard's guard

    assert response.status_code == 302
    csp = response.headers["Content-Security-Policy"]
    assert csp == render_policy(RQ_DASHBOARD_POLICY)
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("endpoint, policy", [
    ("rq_dashboard.overview", RQ_DASHBOARD_POLICY), ("rq_dashboard.static", RQ_DASHBOARD_POLICY),
    ("rq_dashboard_other.page", STUDIO_POLICY), ("accounts.login", STUDIO_POLICY), (None, STUDIO_POLICY),
])
def test_policy_for_an_endpoint(endpoint, policy):
    assert policy_for(endpoint) == render_policy(policy)


def test_a_header_a_view_set_itself_is_kept(make_app):
    app = make_app()
    app.add_url_rule("/own-headers", "own_headers", lambda: Response("framed on purpose", headers={
        "Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}))

    response = app.test_client().get("/own-headers")

    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_swagger_ui_page_starts_from_a_static_script(client):
    page = client.get("/api/docs").get_data(as_text=True)

    assert '<script src="/static/api_docs.js"></script>' in page
    assert 'data-spec-url="/api/openapi.json"' in page
    assert client.get("/static/api_docs.js").status_code == 200


# The templates ----------------------------------------------------------------------

TEMPLATES = sorted([*(ROOT / "app" / "templates").rglob("*.html"),
                    *(ROOT / "plugins").glob("*/inkwright_*/templates/**/*.html")])
#: What the policy refuses: a script element without src, a style element or attribute, an
#: event-handler attribute, a javascript: URL.
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_templates_are_found():
    names = {path.name for path in TEMPLATES}
    assert {"base.html", "show.html", "article.html", "primer_edit.html"} <= names


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_has_inline_script_or_style(template):
    text = template.read_text(encoding="utf-8")

    found = [kind for kind, pattern in INLINE.items() if pattern.search(text)]

    assert found == [], f"{template.relative_to(ROOT)}: {found} (the Content-Security-Policy refuses them)"
