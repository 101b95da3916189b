"""Helpers for WriteIt's tests: drive an article through its steps over the JSON API."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def pick(api_client, run_jobs) -> Callable[..., dict[str, Any]]:
    """Run queued jobs, then choose candidate ``index`` of ``step`` with ``feedback``; returns the run."""

    def choose(run_id: str, step: str, index: int = 0, feedback: str | None = None) -> dict[str, Any]:
        run_jobs()
        run = api_client.get(f"/api/runs/{run_id}").json["data"]
        state = next(s for s in run["steps"] if s["key"] == step)
        assert state["status"] == "awaiting_selection", (step, state["status"], state.get("error"))
        response = api_client.post(f"/api/runs/{run_id}/steps/{step}/select",
                                   json={"index": index, "feedback": feedback})
        assert response.status_code == 200, response.json
        run_jobs()
        return api_client.get(f"/api/runs/{run_id}").json["data"]

    return choose


CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def submit() -> Callable[..., Any]:
    """Post a form the way a browser does: with the CSRF token of the page it came from."""

    def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, page: str | None = None,
             **kwargs: Any):
        shown = client.get(page or path)
        assert shown.status_code == 200, f"GET {page or path} answered {shown.status_code}"
        token = CSRF_INPUT.search(shown.get_data(as_text=True))
        assert token, f"no csrf_token on {page or path}"
        return client.post(path, data={**(data or {}), "csrf_token": token.group(1)}, **kwargs)

    return post


@pytest.fixture
def browser(client: FlaskClient, user, submit) -> FlaskClient:
    """A test client signed in as ``user`` through the login form."""
    response = submit(client, "/login", {"email": user.email, "password": user.password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def errors_beside(response: Any, field_id: str) -> list[str]:
    """The messages a page shows beside one form field (``<ul id="<field>-errors">``)."""
    block = re.search(rf'<ul class="errors" id="{field_id}-errors"[^>]*>(.*?)</ul>', response.get_data(as_text=True),
                      re.DOTALL)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []


@pytest.fixture
def beside() -> Callable[[Any, str], list[str]]:
    return errors_beside


@pytest.fixture(autouse=True)
def scoped_to_tenants(tenant_scope_guard):
    """The plugin's requests and jobs stay within their tenant, as the core's do (issue 9)."""
    return tenant_scope_guard
