"""Seed 000's envelope and the one place errors are rendered (app/envelope.py, app/errors.py)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from app.api import public
from app.version import __version__

ENVELOPE_KEYS = {"success", "data", "error", "metadata"}
METADATA_KEYS = {"requestId", "timestamp", "version", "duration"}
VALID_REGISTRATION = {"email": "ada@example.com", "password": "long enough password"}


def assert_envelope(response) -> dict:
    body = response.json
    assert set(body) == ENVELOPE_KEYS, body
    metadata = body["metadata"]
    assert set(metadata) == METADATA_KEYS
    assert response.headers["X-Request-ID"] == metadata["requestId"]
    assert metadata["version"] == __version__
    assert metadata["timestamp"].endswith("Z")
    datetime.fromisoformat(metadata["timestamp"].replace("Z", "+00:00"))
    assert isinstance(metadata["duration"], (int, float)) and metadata["duration"] >= 0
    if body["success"]:
        assert body["error"] is None
    else:
        assert body["data"] is None
        assert {"code", "message", "retryable"} <= set(body["error"])
    return body


@pytest.mark.parametrize("method, path, status", [
    ("get", "/api/me", 200),
    ("get", "/api/tenants", 200),
    ("get", "/api/api-keys", 200),
    ("get", "/api/events", 200),
    ("post", "/api/auth/logout", 200),
    ("get", "/healthz", 200),
    ("get", "/readyz", 200),
    ("get", "/api/nothing-here", 404),
    ("delete", "/api/me", 405),
    ("get", "/api/system/metrics", 403),
])
def test_json_responses_are_enveloped_with_the_request_id_header(api_client, method, path, status):
    response = getattr(api_client, method)(path)

    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert assert_envelope(response)["success"] is (status < 400)


def test_an_unauthenticated_error_is_enveloped(client):
    assert_envelope(client.get("/api/me"))


def test_each_response_has_its_own_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")

    assert first.json["metadata"]["requestId"] != second.json["metadata"]["requestId"]


def test_a_well_formed_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "trace-1234.abcd:5678"})

    assert response.headers["X-Request-ID"] == "trace-1234.abcd:5678"
    assert response.json["metadata"]["requestId"] == "trace-1234.abcd:5678"


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "<script>alert(1)</script>", "x" * 200])
def test_a_malformed_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    request_id = response.json["metadata"]["requestId"]
    assert request_id != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.headers["X-Request-ID"] == request_id


def test_malformed_json_is_400_malformed_request(client, expect_error, row_counts):
    before = row_counts()

    response = client.post("/api/auth/register", data='{"email": "ada@example.com",', content_type="application/json")

    expect_error(response, 400, "MALFORMED_REQUEST")
    assert_envelope(response)
    assert row_counts() == before


def test_a_json_body_that_is_not_an_object_is_400(client, expect_error, row_counts):
    before = row_counts()

    response = client.post("/api/auth/register", json=["ada@example.com", "long enough password"])

    assert expect_error(response, 400, "VALIDATION_ERROR")["details"]["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("body, problems", [
    ({"email": 42, "password": ["not", "text"]}, {"email", "password"}),
    ({**VALID_REGISTRATION, "isPlatformAdmin": True, "role": "owner"}, {"isPlatformAdmin", "role"}),
    ({}, {"email", "password"}),
    ({"email": "not an email", "password": "long enough password"}, {"email"}),
], ids=["wrong types", "unknown fields", "missing fields", "bad email"])
def test_invalid_bodies_are_400_with_a_message_per_field(client, expect_error, row_counts, body, problems):
    before = row_counts()

    error = expect_error(client.post("/api/auth/register", json=body), 400, "VALIDATION_ERROR")

    assert set(error["details"]["fields"]) == problems
    assert all(isinstance(messages, list) and messages for messages in error["details"]["fields"].values())
    assert row_counts() == before


def test_unknown_field_message_names_the_problem(client, expect_error):
    body = {**VALID_REGISTRATION, "isPlatformAdmin": True}

    error = expect_error(client.post("/api/auth/register", json=body), 400, "VALIDATION_ERROR")

    assert error["details"]["fields"]["isPlatformAdmin"] == ["Unknown field."]


def test_a_missing_body_is_400(api_client, expect_error, row_counts):
    before = row_counts()

    response = api_client.post("/api/api-keys")

    expect_error(response, 400, "VALIDATION_ERROR")
    assert row_counts() == before


def test_unknown_path_is_404_not_found(client, expect_error):
    assert_envelope(client.get("/api/no/such/thing"))
    expect_error(client.get("/api/no/such/thing"), 404, "NOT_FOUND")


def test_wrong_method_is_405_with_the_allowed_methods(client, expect_error, row_counts):
    before = row_counts()

    error = expect_error(client.put("/api/auth/register", json=VALID_REGISTRATION), 405, "METHOD_NOT_ALLOWED")

    assert "POST" in error["details"]["allowed"]
    assert row_counts() == before


def test_a_body_over_max_content_length_is_413(make_app, expect_error, row_counts):
    small = make_app(MAX_CONTENT_LENGTH=2048)
    before = row_counts()

    response = small.test_client().post("/api/auth/register", json={**VALID_REGISTRATION, "name": "x" * 4096})

    error = expect_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"maxBytes": 2048}
    assert_envelope(response)
    assert row_counts() == before


def test_a_body_under_max_content_length_is_served(make_app):
    small = make_app(MAX_CONTENT_LENGTH=2048)

    response = small.test_client().post("/api/auth/register", json={**VALID_REGISTRATION, "name": "Ada"})

    assert response.status_code == 201


def test_an_unexpected_exception_is_a_500_that_leaks_nothing(make_app, expect_error, row_counts):
    fragile = make_app()

    def explode():
        raise RuntimeError("database password is hunter2")

    fragile.add_url_rule("/api/test-explode", "test_explode", public(explode))
    before = row_counts()

    response = fragile.test_client().get("/api/test-explode")

    error = expect_error(response, 500, "INTERNAL_ERROR")
    assert_envelope(response)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
    assert error["retryable"] is False
    assert row_counts() == before


def test_errors_outside_the_api_are_json_when_json_is_asked_for(client, expect_error):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})

    expect_error(response, 404, "NOT_FOUND")
    assert_envelope(response)
