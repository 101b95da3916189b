"""Fixtures for the browser studio's tests: forms are posted the way a browser posts them.

CSRF protection stays on, so every post carries the ``csrf_token`` read from the page a
person would have filled in.
"""

from __future__ import annotations

import html
import re
from typing import Any, Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Membership, Role
from app.runtime import repositories

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def csrf_token() -> Callable[[FlaskClient, str], str]:
    """Read the hidden CSRF token from a page, as the browser would send it back."""

    def read(client: FlaskClient, page: str) -> str:
        response = client.get(page)
        assert response.status_code == 200, f"GET {page} answered {response.status_code}"
        match = CSRF_INPUT.search(response.get_data(as_text=True))
        assert match, f"no csrf_token input on {page}"
        return match.group(1)

    return read


@pytest.fixture
def submit(csrf_token) -> Callable[..., Any]:
    """Post a form with the token from ``page`` (the form's own URL unless given)."""

    def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, page: str | None = None,
             **kwargs: Any):
        token = csrf_token(client, page or path)
        return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)

    return post


@pytest.fixture
def sign_in(submit) -> Callable[..., FlaskClient]:
    """Sign an account in through the login form; returns the (now signed-in) client."""

    def sign(client: FlaskClient, account) -> FlaskClient:
        response = submit(client, "/login", {"email": account.email, "password": account.password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign


@pytest.fixture
def browser(client: FlaskClient, user, sign_in) -> FlaskClient:
    """A test client signed in as ``user`` through the login form."""
    return sign_in(client, user)


def field_errors(page: str, field_id: str) -> list[str]:
    """The messages rendered beside a field (``<ul id="<field>-errors">``)."""
    block = re.search(rf'<ul class="errors" id="{field_id}-errors"[^>]*>(.*?)</ul>', page, re.S)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []


@pytest.fixture
def errors_beside() -> Callable[[Any, str], list[str]]:
    """The errors a response shows beside one form field."""

    def read(response, field_id: str) -> list[str]:
        return field_errors(response.get_data(as_text=True), field_id)

    return read


@pytest.fixture
def add_member(app: Flask) -> Callable[..., None]:
    """Give an account a role in another tenant, as an invitation accepted would."""

    def add(tenant_id, account, role: Role = Role.MEMBER) -> None:
        with app.app_context():
            repos = repositories()
            with repos.transaction():
                repos.for_tenant(tenant_id).memberships.add(Membership(user_id=account.user.id, role=role))

    return add
