"""Probes, metrics, the OpenAPI document and its docs page (app/api/system.py, app/api/__init__.py)."""

from __future__ import annotations

import json
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
    ("/api/notifications/events", "get"): "text/event-stream",
    ("/api/artifacts/{artifact_id}/content", "get"): "*/*",  # the artifact's own bytes, in its media type
    ("/api/exports/{export_id}/download", "get"): "*/*",  # the exported file, in its format's media type
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
    assert "/api/openapi.json" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    # Swagger UI's own files, and the studio's script that starts it (no inline script: the
    # Content-Security-Policy refuses it, app/security_headers.py).
    assert "/static/api_docs.js" in assets
    assert "SwaggerUIBundle" in client.get("/static/api_docs.js").get_data(as_text=True)
    for asset in assets:
        if asset == "/static/api_docs.js":
            continue
        assert asset.startswith("/api/docs/assets/"), f"{asset} would load from elsewhere"
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.data) > 1000


def test_a_missing_docs_asset_is_404(client, expect_error):
    expect_error(client.get("/api/docs/assets/no-such-file.js"), 404, "NOT_FOUND")


def test_a_real_error_matches_the_documented_error_envelope(client, spec):
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    body = client.get("/api/runs").json  # 401: no credentials

    assert envelope["additionalProperties"] is False
    assert set(body) == set(envelope["properties"]) == set(envelope["required"])
    assert body["data"] is None and body["success"] is False
    assert set(body["error"]) <= set(spec["components"]["schemas"]["ErrorBody"]["properties"])
    for name in ("DEFAULT_ERROR", "BAD_REQUEST"):
        assert spec["components"]["responses"][name]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"}


def test_numeric_bounds_in_the_document_are_numbers_and_money_is_a_decimal_string(spec):
    text = json.dumps(spec)
    assert not re.findall(r'"(?:minimum|maximum)": "', text)  # once "0.000000": an invalid document
    cost = spec["components"]["schemas"]["Budget"]["properties"]["costUsd"]
    # OpenAPI 3.1: a nullable field's type lists "null" beside its own.
    assert (cost["type"], cost["format"]) == (["string", "null"], "decimal") and cost["pattern"]


def test_a_budget_in_the_form_the_document_forbids_is_refused(api_client):
    for cost in (0.5, "1e3", "-1", "0.0000001"):
        response = api_client.post("/api/runs", json={"workflow": "x", "budget": {"costUsd": cost}})
        assert response.status_code == 400 and "budget" in str(response.json["error"]["details"]), cost


def test_rules_a_schema_checks_itself_are_in_the_document(spec):
    # "Send at least one": {} is refused, so the document must not call it valid.
    assert spec["components"]["schemas"]["PreferencesPatch"]["minProperties"] == 1


# The document refuses what the server refuses (issue 11's fuzz gate found each of these:
# a request the document allowed was answered 400).
def allows(spec: dict, schema: dict, value) -> bool:
    """Whether ``value`` is valid by the document's ``schema`` (refs resolved; OpenAPI 3.1's
    schemas are JSON schema 2020-12)."""
    import jsonschema

    def plain(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return plain(resolve(spec, node))
            node = {key: plain(value) for key, value in node.items() if key not in ("writeOnly", "readOnly")}
        elif isinstance(node, list):
            return [plain(value) for value in node]
        return node

    validator = jsonschema.Draft202012Validator(plain(schema),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(value)


def test_the_password_policy_is_in_the_document(app, spec, client, expect_error):
    minimum = app.config["PASSWORD_MIN_LENGTH"]
    for name in ("RegisterRequest", "PasswordResetConfirm"):
        password = spec["components"]["schemas"][name]["properties"]["password"]
        assert password["minLength"] == minimum
        assert not re.match(password["pattern"], " padded passphrase ")
    short = {"email": "short@example.com", "password": "x" * (minimum - 1)}
    assert not allows(spec, spec["components"]["schemas"]["RegisterRequest"], short)
    expect_error(client.post("/api/auth/register", json=short), 400, "VALIDATION_ERROR")


def test_a_provider_key_names_one_of_the_documented_providers(app, spec, api_client, expect_error):
    documented = spec["components"]["schemas"]["ProviderKeyCreate"]["properties"]["provider"]["enum"]
    keyed = {name for name, provider in app.extensions["inkwright"].registry.providers.items()
             if getattr(provider, "requires_key", True)}
    assert set(documented) == keyed and "offline" not in documented
    for provider in ("0", "offline"):
        response = api_client.post("/api/account/provider-keys", json={"provider": provider, "key": "sk-12345678"})
        expect_error(response, 400, "VALIDATION_ERROR")


def test_a_budget_of_zero_is_outside_the_document_as_it_is_outside_the_api(spec, api_client):
    budget = spec["components"]["schemas"]["Budget"]
    for cost in ("0", "0.000000", "1000000.1"):
        assert not allows(spec, budget, {"costUsd": cost}), cost
        response = api_client.post("/api/runs", json={"workflow": "x", "budget": {"costUsd": cost}})
        assert response.status_code == 400 and "budget" in str(response.json["error"]["details"]), cost
    for cost in ("0.000001", "12.5", "1000000"):
        assert allows(spec, budget, {"costUsd": cost}), cost
        response = api_client.post("/api/runs", json={"workflow": "x", "budget": {"costUsd": cost}})
        assert "budget" not in str(response.json["error"]), cost


def test_a_maps_keys_and_size_are_in_the_document(spec, api_client, expect_error):
    patch = spec["components"]["schemas"]["PreferencesPatch"]
    models = patch["properties"]["defaultModels"]
    assert models["maxProperties"] == 50 and "maxLength" not in models
    for key in ("", "two words"):
        body = {"defaultModels": {key: "offline:writer"}}
        assert not allows(spec, patch, body)
        expect_error(api_client.patch("/api/account/preferences", json=body), 400, "VALIDATION_ERROR")
    body = {"defaultModels": {"draft": "offline:writer"}}
    assert allows(spec, patch, body) and api_client.patch("/api/account/preferences", json=body).status_code == 200


def test_a_completion_takes_a_prompt_or_messages_as_documented(spec, api_client, expect_error):
    create = spec["components"]["schemas"]["CompletionCreate"]
    both = {"model": "offline:writer", "prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}
    for body in (both, {"model": "offline:writer"}):
        assert not allows(spec, create, body)
        expect_error(api_client.post("/api/completions", json=body), 400, "VALIDATION_ERROR")
    assert allows(spec, create, {"model": "offline:writer", "prompt": "hi"})
    # The other one null is the other one left out, in the document as on the server.
    for body in ({"model": "offline:writer", "prompt": "hi", "messages": None},
                 {"model": "offline:writer", "prompt": None, "messages": [{"role": "user", "content": "hi"}]}):
        assert allows(spec, create, body)
        assert api_client.post("/api/completions", json=body).status_code == 200
    for body in ({"model": "offline:writer", "prompt": None, "messages": None},):
        assert not allows(spec, create, body)
        expect_error(api_client.post("/api/completions", json=body), 400, "VALIDATION_ERROR")


def test_a_usage_range_is_a_date_or_date_time_as_documented(spec, api_client, expect_error):
    parameters = spec["paths"]["/api/account/usage"]["get"]["parameters"]
    since = next(p for p in parameters if p["name"] == "from")["schema"]
    assert since["anyOf"] == [{"format": "date"}, {"format": "date-time"}]
    assert not allows(spec, since, "") and allows(spec, since, "2026-11-01")
    expect_error(api_client.get("/api/account/usage?from="), 400, "VALIDATION_ERROR")
    assert api_client.get("/api/account/usage?from=2026-11-01T10:00:00Z").status_code == 200


def test_patterns_in_the_document_are_ecma_regexes(spec):
    # JSON schema's patterns are ECMA 262, where \Z anchors nothing: $ it is.
    assert "\\Z" not in json.dumps(spec)
    models = spec["components"]["schemas"]["PreferencesPatch"]["properties"]["defaultModels"]
    assert models["propertyNames"]["pattern"].endswith("$")


def test_a_boolean_preference_is_true_or_false_not_a_number(api_client, expect_error):
    for value in (0, 1):
        response = api_client.patch("/api/account/preferences", json={"autoSaveEnabled": value})
        expect_error(response, 400, "VALIDATION_ERROR")
    assert api_client.patch("/api/account/preferences", json={"autoSaveEnabled": False}).status_code == 200


def test_an_integer_preference_is_a_json_integer(api_client, expect_error):
    """``type: integer`` as JSON schema means it: 15.0 is one (the fuzzer's valid request
    was once refused), "15", 15.5 and true are not."""
    response = api_client.patch("/api/account/preferences", json={"maxConcurrentPipelines": 15.0})
    assert response.status_code == 200 and response.json["data"]["maxConcurrentPipelines"] == 15
    for value in ("15", 15.5, True):
        response = api_client.patch("/api/account/preferences", json={"maxConcurrentPipelines": value})
        expect_error(response, 400, "VALIDATION_ERROR")


def test_dict_keys_the_server_refuses_are_outside_the_documents_properties(spec):
    """Generators that ignore propertyNames (schemathesis 4) read the same rules as properties
    or patternProperties with no other key allowed."""
    shortcuts = spec["components"]["schemas"]["PreferencesPatch"]["properties"]["keyboardShortcuts"]
    assert shortcuts["additionalProperties"] is False
    assert allows(spec, shortcuts, {"ctrl+s": "save"}) and not allows(spec, shortcuts, {"": "save"})


def test_the_documents_patterns_mean_what_the_server_means(spec, api_client, client, expect_error):
    """A document's patterns are ECMA regexes, whose \\s and \\S are not Python's: U+0085 is
    whitespace to Python only, so a model name holding it passed the document and was refused.
    The patterns name their characters outright, and the two agree case by case."""
    patch = spec["components"]["schemas"]["PreferencesPatch"]
    for model in ("s9drb:\u00be\u0085", "openai:gpt 4"):
        body = {"defaultModels": {"draft": model}}
        assert not allows(spec, patch, body)
        expect_error(api_client.patch("/api/account/preferences", json=body), 400, "VALIDATION_ERROR")
    for model in ("ollama:llama3:8b", "openrouter:anthropic/claude-3.5-sonnet"):
        body = {"defaultModels": {"draft": model}}
        assert allows(spec, patch, body) and api_client.patch("/api/account/preferences", json=body).status_code == 200
    register = spec["components"]["schemas"]["RegisterRequest"]
    for password in ("\x1ccorrect horse battery", "correct horse battery\u0085"):
        body = {"email": "edge@example.com", "password": password}
        assert not allows(spec, register, body)
        expect_error(client.post("/api/auth/register", json=body), 400, "VALIDATION_ERROR")
