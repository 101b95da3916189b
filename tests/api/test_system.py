"""Probes, metrics, the OpenAPI document and its docs page (app/api/system.py, app/api/__init__.py)."""

from __future__ import annotations

import re

import pytest

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
PUBLIC_OPERATIONS = {
    ("/api/auth/register", "post"), ("/api/auth/login", "post"), ("/api/auth/refresh", "post"),
    ("/api/auth/password-reset", "post"), ("/api/auth/password-reset/confirm", "post"),
}


def test_healthz_is_200(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json["data"] == {"status": "ok"}


def test_readyz_is_200_with_its_checks(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json["data"] == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_is_503_when_redis_does_not_answer(make_app, expect_error):
    cut_off = make_app(REDIS_URL=UNREACHABLE_REDIS)

    response = cut_off.test_client().get("/readyz")

    error = expect_error(response, 503, "SERVICE_UNAVAILABLE")
    assert error["retryable"] is True
    assert error["details"]["checks"]["database"] == "ok"
    assert error["details"]["checks"]["redis"].startswith("failed")
    assert UNREACHABLE_REDIS not in response.get_data(as_text=True)


def test_healthz_does_not_depend_on_redis(make_app):
    cut_off = make_app(REDIS_URL=UNREACHABLE_REDIS)

    assert cut_off.test_client().get("/healthz").status_code == 200


def test_metrics_are_refused_to_a_normal_user(api_client, expect_error):
    expect_error(api_client.get("/api/system/metrics"), 403, "FORBIDDEN")


def test_metrics_are_refused_without_credentials(client, expect_error):
    expect_error(client.get("/api/system/metrics"), 401, "UNAUTHORIZED")


def test_metrics_show_repository_operations_to_a_platform_admin(make_user, login_api):
    admin = login_api(make_user(platform_admin=True))

    response = admin.get("/api/system/metrics")

    assert response.status_code == 200
    data = response.json["data"]
    operations = {(row["entity"], row["operation"]): row for row in data["repositories"]}
    login_lookup = operations[("User", "find_by_email")]
    assert login_lookup["calls"] >= 1 and login_lookup["errors"] == 0
    assert {"calls", "errors", "totalMs", "meanMs", "maxMs"} <= set(login_lookup)
    assert ("AuthSession", "find_by_access_hash") in operations
    assert {"hits", "misses", "ttl"} <= set(data["cache"])


def test_metrics_count_each_call(make_user, login_api):
    admin = login_api(make_user(platform_admin=True))

    def token_lookups() -> int:
        rows = admin.get("/api/system/metrics").json["data"]["repositories"]
        return next(r["calls"] for r in rows if (r["entity"], r["operation"]) == ("AuthSession", "find_by_access_hash"))

    before = token_lookups()
    admin.get("/api/me")
    assert token_lookups() == before + 2  # /api/me and the second metrics request


# The OpenAPI document ------------------------------------------------------------

@pytest.fixture
def spec(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def documented_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def api_operations(app) -> set[tuple[str, str]]:
    """Every (path, method) the app serves under /api/, except the docs themselves."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint.startswith("api-docs.") \
                or rule.endpoint == "swagger_asset":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((documented_path(rule.rule), method.lower()))
    return operations


def test_openapi_documents_every_api_route(app, spec):
    served = api_operations(app)
    documented = {(path, method) for path, item in spec["paths"].items() for method in item
                  if method in {"get", "post", "put", "patch", "delete"}}

    assert served, "no /api/ routes found"
    assert served - documented == set()
    assert documented - served == set()


def test_openapi_declares_bearer_auth_and_public_routes(app, spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    for path, method in api_operations(app):
        operation = spec["paths"][path][method]
        if (path, method) in PUBLIC_OPERATIONS:
            assert operation.get("security") == [], (path, method)
        else:
            assert "security" not in operation, f"{method} {path} should need the bearer token"


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


#: Success responses that are deliberately not JSON envelopes, and the content they document.
NOT_ENVELOPES = {
    ("/api/runs/{run_id}/events", "get"): "text/event-stream",  # Server-Sent Events
    ("/api/artifacts/{artifact_id}/content", "get"): "*/*",  # the artifact's own bytes, in its media type
}


def test_openapi_success_responses_are_envelopes(app, spec):
    operations = api_operations(app)
    assert set(NOT_ENVELOPES) <= operations, "an exception names a route that no longer exists"
    for path, method in operations:
        responses = spec["paths"][path][method]["responses"]
        [status] = [code for code in responses if code.startswith("2")]
        content = responses[status].get("content", {})
        if (path, method) in NOT_ENVELOPES:
            assert list(content) == [NOT_ENVELOPES[(path, method)]], (path, method, content)
            continue
        assert list(content) == ["application/json"], (path, method, content)
        envelope = resolve(spec, content["application/json"]["schema"])
        assert set(envelope["properties"]) == {"success", "data", "error", "metadata"}, (path, method)
        assert envelope["properties"]["metadata"] == {"$ref": "#/components/schemas/Metadata"}


def test_openapi_describes_the_envelope_parts(spec):
    schemas = spec["components"]["schemas"]

    assert set(schemas["Metadata"]["properties"]) == {"requestId", "timestamp", "version", "duration"}
    assert {"code", "message", "retryable", "details"} == set(schemas["ErrorBody"]["properties"])
    auth = resolve(spec, schemas["AuthResponse"])
    assert set(auth["properties"]) == {"user", "session", "permissions"}


def test_openapi_error_responses_are_envelopes(app, spec):
    default_error = resolve(spec, spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]
                            ["schema"])

    assert {"success", "error", "metadata"} <= set(default_error["properties"])
    for path, method in api_operations(app):
        statuses = set(spec["paths"][path][method]["responses"])
        assert "422" not in statuses, f"{method} {path} documents 422; bad input gets 400"


def test_docs_page_serves_swagger_ui_from_local_assets(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "SwaggerUIBundle" in page and "/api/openapi.json" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    for asset in assets:
        assert asset.startswith("/api/docs/assets/"), f"{asset} would load from elsewhere"
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.data) > 1000


def test_a_missing_docs_asset_is_404(client, expect_error):
    expect_error(client.get("/api/docs/assets/no-such-file.js"), 404, "NOT_FOUND")
