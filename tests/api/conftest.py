"""Fixtures shared by the JSON API tests (the core's pytest plugin provides the rest).

Requests must never run inside an app context a test keeps pushed (the test client would
reuse it and share ``g`` between requests), so direct database work goes through
``app_repos`` in short ``with`` blocks.

Every API test runs under the scope guard (issue 9): a statement a request or a job issues
that could reach another tenant's rows, outside the declared system scope, fails the test.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
from flask import Flask

from app.pytest_plugin import Account, ApiClient
from app.repositories import Repositories
from app.repositories.scope_guard import ScopeGuard
from app.runtime import repositories


@pytest.fixture(autouse=True)
def scoped_to_tenants(tenant_scope_guard: ScopeGuard) -> ScopeGuard:
    """Every API test runs under the core's tenant scope guard."""
    return tenant_scope_guard


@pytest.fixture
def app_repos(app: Flask) -> Callable[..., Any]:
    """``with app_repos() as repos:`` — the global repository factory in a short app context."""

    @contextmanager
    def open_repos(application: Flask | None = None) -> Iterator[Repositories]:
        with (application or app).app_context():
            yield repositories()

    return open_repos



@pytest.fixture
def expect_error() -> Callable[..., dict]:
    """Check a refused request's status and envelope, and return its ``error`` body."""

    def check(response, status: int, code: str) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        body = response.json
        assert body["success"] is False
        assert body["data"] is None
        assert body["error"]["code"] == code, body["error"]
        return body["error"]

    return check


@pytest.fixture
def bearer(app: Flask) -> Callable[..., ApiClient]:
    """A client that sends a given access token or API key secret."""

    def make(credential: str, application: Flask | None = None) -> ApiClient:
        return ApiClient((application or app).test_client(), credential)

    return make


@pytest.fixture
def create_key() -> Callable[..., dict]:
    """Create an API key through the API as ``client``; returns the 201 body's data (with secret)."""

    def create(client: ApiClient, name: str = "ci runner", headers: dict | None = None, **fields: Any) -> dict:
        response = client.post("/api/api-keys", json={"name": name, **fields}, headers=headers)
        assert response.status_code == 201, response.json
        return response.json["data"]

    return create


@pytest.fixture
def add_member() -> Callable[..., dict]:
    """As a tenant's owner or admin, add an account to the tenant with a role; returns the membership."""

    def add(client: ApiClient, tenant_id: Any, account: Account, role: str = "member") -> dict:
        response = client.post(f"/api/tenants/{tenant_id}/members", json={"email": account.email, "role": role})
        assert response.status_code == 201, response.json
        return response.json["data"]

    return add


@pytest.fixture
def login_as(app: Flask) -> Callable[..., ApiClient]:
    """Sign in through ``/api/auth/login`` acting in a chosen tenant (``login_api`` uses the default)."""

    def login(account: Account, tenant_id: Any = None, application: Flask | None = None) -> ApiClient:
        client = (application or app).test_client()
        body = {"email": account.email, "password": account.password}
        if tenant_id is not None:
            body["tenantId"] = str(tenant_id)
        response = client.post("/api/auth/login", json=body)
        assert response.status_code == 200, response.json
        return ApiClient(client, response.json["data"]["session"]["token"])

    return login


@pytest.fixture
def upload_workflow() -> Callable[..., dict]:
    """Upload a YAML workflow document as ``client`` (raw application/yaml); returns the version."""

    def upload(client: ApiClient, source: str) -> dict:
        response = client.post("/api/workflows", data=source, content_type="application/yaml")
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        return response.json["data"]

    return upload


@pytest.fixture
def start_run() -> Callable[..., dict]:
    """Start a run through ``POST /api/runs`` as ``client``; returns the 202 body's run."""

    def start(client: ApiClient, workflow: str, inputs: dict | None = None, **fields: Any) -> dict:
        response = client.post("/api/runs", json={"workflow": workflow, "inputs": inputs or {}, **fields})
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.json["data"]

    return start


@pytest.fixture
def get_run() -> Callable[..., dict]:
    """A run's detail as ``client`` sees it (``GET /api/runs/<id>``)."""

    def get(client: ApiClient, run_id: str) -> dict:
        response = client.get(f"/api/runs/{run_id}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json["data"]

    return get
