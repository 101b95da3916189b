"""The signed-in person's account over JSON (app/api/account.py): credits, usage history,
preferences and provider keys; and the current tenant's provider keys (owners and admins)."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import KeySource, ProviderKey, UsageLogEntry, UsageStatus
from app.provider import Completion, CompletionRequest, Provider
from app.runtime import current_state

PLAIN_KEY = "sk-acme-live-5f2c9a81d4e7b3aa-wxyz"


class AcmeProvider(Provider):
    """An installed provider that needs a key."""

    name = "acme"

    def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="", input_tokens=0, output_tokens=0, model=request.model)


class LocalProvider(AcmeProvider):
    """An installed provider that needs none (like the offline one)."""

    name = "localish"
    requires_key = False


@pytest.fixture(autouse=True)
def installed_providers(registry):
    registry.providers.update({"acme": AcmeProvider, "localish": LocalProvider})


def body_of(response) -> str:
    return response.get_data(as_text=True)


# Credits -----------------------------------------------------------------------------------------
def test_a_new_person_sees_a_free_monthly_balance(api_client):
    response = api_client.get("/api/account/credits")

    assert response.status_code == 200
    credits = response.json["data"]
    assert {name: credits[name] for name in ("tier", "status", "period", "limit", "usedThisPeriod", "reserved",
                                             "bonus", "remaining", "totalUsed")} == {
        "tier": "free", "status": "active", "period": "monthly", "limit": 10_000, "usedThisPeriod": 0,
        "reserved": 0, "bonus": 0, "remaining": 10_000, "totalUsed": 0}
    start = datetime.fromisoformat(credits["periodStart"])
    end = datetime.fromisoformat(credits["periodEnd"])
    assert timedelta(days=28) <= end - start <= timedelta(days=31)


def test_the_balance_shows_use_reservations_and_bonus(app, user, api_client, app_repos):
    with app_repos() as repos, repos.transaction():
        accounts = repos.credit_accounts
        accounts.grant_bonus(user.user.id, 500)
        accounts.settle(accounts.reserve(user.user.id, 3_000).id, 2_000)
        accounts.reserve(user.user.id, 1_000)

    credits = api_client.get("/api/account/credits").json["data"]

    assert (credits["usedThisPeriod"], credits["reserved"], credits["bonus"]) == (2_000, 1_000, 500)
    assert (credits["remaining"], credits["totalUsed"]) == (10_000 - 2_000 + 500 - 1_000, 2_000)


def test_an_unlimited_tier_shows_no_limit_and_nothing_remaining_to_count(user, api_client, app_repos):
    with app_repos() as repos, repos.transaction():
        repos.credit_accounts.set_tier(user.user.id, "enterprise")

    credits = api_client.get("/api/account/credits").json["data"]

    assert (credits["tier"], credits["limit"], credits["remaining"]) == ("enterprise", None, None)


def test_the_account_needs_a_person_signed_in(client, api_client, create_key, bearer, expect_error):
    expect_error(client.get("/api/account/credits"), 401, "UNAUTHORIZED")
    key_client = bearer(create_key(api_client)["secret"])
    for path in ("/api/account/credits", "/api/account/usage", "/api/account/preferences",
                 "/api/account/provider-keys"):
        error = expect_error(key_client.get(path), 403, "FORBIDDEN")
        assert "sign in" in error["message"]


def test_a_signed_in_browser_reads_the_account_but_changes_nothing_with_its_cookie(client, user, expect_error):
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    signed_in = client.post("/login", data={"email": user.email, "password": user.password, "csrf_token": token})
    assert signed_in.status_code == 302

    assert client.get("/api/account/credits").json["data"]["tier"] == "free"
    assert client.get("/api/account/preferences").status_code == 200
    # A cookie authenticates safe methods only, so no other site can change a signed-in account.
    expect_error(client.patch("/api/account/preferences", json={"theme": "dark"}), 401, "UNAUTHORIZED")
    expect_error(client.post("/api/account/provider-keys", json={"provider": "acme", "key": PLAIN_KEY}),
                 401, "UNAUTHORIZED")


# Usage -------------------------------------------------------------------------------------------
NOON = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


def record_usage(app_repos, account, **overrides) -> None:
    values = dict(tenant_id=account.tenant_id, user_id=account.user.id, model_name="acme:writer-large",
                  provider="acme", key_source=KeySource.PLATFORM, tokens_prompt=100, tokens_completion=40,
                  tokens_total=140, credits_charged=140, cost_usd=Decimal("0.000700"), cost_cents=0,
                  status=UsageStatus.SUCCESS, response_time_ms=900, created_at=NOON)
    values.update(overrides)
    with app_repos() as repos, repos.transaction():
        repos.usage_log.add(UsageLogEntry(**values))


def test_usage_lists_your_calls_newest_first_with_totals(make_user, login_api, app_repos):
    ada, bob = make_user(name="Ada"), make_user(name="Bob")
    record_usage(app_repos, ada)
    record_usage(app_repos, ada, created_at=NOON + timedelta(hours=1), status=UsageStatus.FAILED,
                 tokens_completion=0, tokens_total=100, credits_charged=0, cost_usd=Decimal("0"),
                 error_code="PROVIDER_TIMEOUT")
    record_usage(app_repos, bob, model_name="acme:secret-project")

    page = login_api(ada).get("/api/account/usage").json["data"]

    assert [(item["status"], item["createdAt"][:16]) for item in page["items"]] == [
        ("failed", "2026-11-10T13:00"), ("success", "2026-11-10T12:00")]
    assert page["items"][0]["errorCode"] == "PROVIDER_TIMEOUT"
    assert page["items"][1]["keySource"] == "platform"
    assert (page["total"], page["limit"], page["offset"]) == (2, 20, 0)
    assert page["totals"] == {"calls": 2, "tokensPrompt": 200, "tokensCompletion": 40, "tokensTotal": 240,
                              "creditsCharged": 140, "costUsd": "0.000700", "costCents": 0,
                              "tries": 2, "tokensEstimated": 0}
    assert "secret-project" not in json.dumps(page)


def test_usage_filters_by_day_status_and_model_and_pages(user, api_client, app_repos):
    record_usage(app_repos, user, created_at=NOON - timedelta(days=1))
    record_usage(app_repos, user, created_at=NOON.replace(hour=23, minute=59))
    record_usage(app_repos, user, created_at=NOON, model_name="acme:writer-small")
    record_usage(app_repos, user, created_at=NOON + timedelta(days=1), status=UsageStatus.RATE_LIMITED)

    def total(**query) -> int:
        response = api_client.get("/api/account/usage", query_string=query)
        assert response.status_code == 200, response.json
        return response.json["data"]["total"]

    assert total(**{"from": "2026-11-10", "to": "2026-11-10"}) == 2
    assert total(**{"from": "2026-11-10T12:00:00Z"}) == 3
    assert total(to="2026-11-10T12:00:00+01:00") == 1
    assert total(status="rate_limited") == 1
    assert total(model="acme:writer-small") == 1
    page = api_client.get("/api/account/usage", query_string={"limit": 1, "offset": 1}).json["data"]
    assert (len(page["items"]), page["total"], page["totals"]["calls"]) == (1, 4, 4)


@pytest.mark.parametrize("query, field", [
    ({"from": "last tuesday"}, "query.from"),
    ({"to": "2026-13-45"}, "query.to"),
    ({"from": "2026-11-10", "to": "2026-11-09"}, "query.to"),
    ({"status": "exploded"}, "query.status"),
    ({"limit": 0}, "query.limit"),
    ({"limit": 500}, "query.limit"),
    ({"offset": -1}, "query.offset"),
])
def test_bad_usage_filters_are_refused_field_by_field(api_client, expect_error, query, field):
    error = expect_error(api_client.get("/api/account/usage", query_string=query), 400, "VALIDATION_ERROR")

    assert list(error["details"]["fields"]) == [field]


# Preferences -------------------------------------------------------------------------------------
DEFAULTS = {"defaultModels": {}, "stylePrimer": None, "autoSaveEnabled": True, "streamingBufferSize": 10,
            "keyboardShortcuts": {}, "theme": "default", "maxConcurrentPipelines": 3, "exportFormat": "yaml"}


def test_unset_preferences_read_as_their_defaults(api_client):
    assert api_client.get("/api/account/preferences").json["data"] == DEFAULTS


def test_a_change_keeps_everything_else_and_persists(api_client):
    response = api_client.patch("/api/account/preferences", json={
        "defaultModels": {"outline": "acme:writer-large", "draft": "openrouter:anthropic/claude-3.5-sonnet"},
        "theme": "dark", "maxConcurrentPipelines": 20, "exportFormat": "markdown"})

    assert response.status_code == 200, response.json
    expected = {**DEFAULTS, "defaultModels": {"outline": "acme:writer-large",
                                              "draft": "openrouter:anthropic/claude-3.5-sonnet"},
                "theme": "dark", "maxConcurrentPipelines": 20, "exportFormat": "markdown"}
    assert response.json["data"] == expected
    assert api_client.get("/api/account/preferences").json["data"] == expected


def test_default_models_merge_and_null_removes_a_step_or_resets_a_preference(api_client):
    api_client.patch("/api/account/preferences", json={
        "defaultModels": {"outline": "acme:writer-large", "draft": "acme:writer-small"}, "theme": "light"})

    changed = api_client.patch("/api/account/preferences", json={
        "defaultModels": {"draft": None, "polish": "ollama:llama3:8b"}, "theme": None}).json["data"]

    assert changed["defaultModels"] == {"outline": "acme:writer-large", "polish": "ollama:llama3:8b"}
    assert changed["theme"] == "default"


@pytest.mark.parametrize("patch, field", [
    ({"colour": "teal"}, "colour"),
    ({"defaultModels": {"outline": "gpt-4o"}}, "defaultModels"),
    ({"defaultModels": {"outline": "acme: writer"}}, "defaultModels"),
    ({"defaultModels": {"out line": "acme:writer"}}, "defaultModels"),
    ({"defaultModels": {"draft": "acme:writer\n"}}, "defaultModels"),
    ({"maxConcurrentPipelines": 21}, "maxConcurrentPipelines"),
    ({"maxConcurrentPipelines": 0}, "maxConcurrentPipelines"),
    ({"streamingBufferSize": "10"}, "streamingBufferSize"),
    ({"streamingBufferSize": 100_000}, "streamingBufferSize"),
    ({"exportFormat": "pdf"}, "exportFormat"),
    ({"theme": "neon"}, "theme"),
    ({"autoSaveEnabled": "yes"}, "autoSaveEnabled"),
    ({}, "_schema"),
])
def test_bad_preferences_are_refused_and_nothing_changes(api_client, expect_error, patch, field):
    api_client.patch("/api/account/preferences", json={"theme": "dark"})

    error = expect_error(api_client.patch("/api/account/preferences", json=patch), 400, "VALIDATION_ERROR")

    assert field in error["details"]["fields"]
    assert api_client.get("/api/account/preferences").json["data"] == {**DEFAULTS, "theme": "dark"}


def test_a_bad_model_name_says_how_to_write_one(api_client, expect_error):
    error = expect_error(api_client.patch("/api/account/preferences", json={"defaultModels": {"draft": "gpt-4o"}}),
                         400, "VALIDATION_ERROR")

    assert "provider:model" in json.dumps(error["details"]["fields"]["defaultModels"])


# Your provider keys ------------------------------------------------------------------------------
def add_my_key(client, key: str = PLAIN_KEY, **fields):
    return client.post("/api/account/provider-keys", json={"provider": "acme", "key": key, **fields})


def test_a_key_is_accepted_once_and_only_ever_shown_masked(app, api_client):
    created = add_my_key(api_client, label="  my acme key ")
    listed = api_client.get("/api/account/provider-keys")
    revoked = api_client.delete(f"/api/account/provider-keys/{created.json['data']['id']}")

    assert created.status_code == 201, created.json
    key = created.json["data"]
    assert (key["provider"], key["label"], key["masked"], key["status"], key["owner"]) == \
        ("acme", "my acme key", "…wxyz", "active", "user")
    assert [item["id"] for item in listed.json["data"]] == [key["id"]]
    assert revoked.json["data"]["status"] == "revoked"
    for response in (created, listed, revoked):
        assert PLAIN_KEY not in body_of(response)
        assert PLAIN_KEY[:-4] not in body_of(response)
    with app.app_context():
        stored = db.session.scalar(select(ProviderKey.encrypted_key))
    assert PLAIN_KEY not in stored
    assert current_state(app).secrets.decrypt(stored) == PLAIN_KEY


def test_the_plain_key_is_never_logged(api_client, caplog):
    caplog.set_level(logging.DEBUG)

    key_id = add_my_key(api_client).json["data"]["id"]
    add_my_key(api_client, key=PLAIN_KEY + " ")  # refused
    api_client.get("/api/account/provider-keys")
    api_client.delete(f"/api/account/provider-keys/{key_id}")

    assert PLAIN_KEY not in caplog.text  # at DEBUG, from every logger


@pytest.mark.parametrize("body, field", [
    ({"provider": "nobody", "key": PLAIN_KEY}, "provider"),
    ({"provider": "localish", "key": PLAIN_KEY}, "provider"),
    ({"provider": "acme", "key": "sk-1234"}, "key"),
    ({"provider": "acme", "key": "sk-acme has spaces-1234"}, "key"),
    ({"provider": "acme", "key": PLAIN_KEY + "\n"}, "key"),
    ({"provider": "acme", "key": "k" * 501}, "key"),
    ({"provider": "acme"}, "key"),
    ({"provider": "acme", "key": PLAIN_KEY, "label": "x" * 101}, "label"),
    ({"provider": "acme", "key": PLAIN_KEY, "owner": "tenant"}, "owner"),
])
def test_bad_keys_are_refused_without_repeating_them(api_client, expect_error, row_count, body, field):
    response = api_client.post("/api/account/provider-keys", json=body)

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert list(error["details"]["fields"]) == [field]
    if "key" in body:
        assert body["key"].strip() not in body_of(response)
    assert row_count(ProviderKey) == 0


def test_an_unknown_provider_is_named_in_the_refusal(api_client, expect_error):
    unknown = expect_error(api_client.post("/api/account/provider-keys", json={"provider": "nobody", "key": PLAIN_KEY}),
                           400, "VALIDATION_ERROR")
    keyless = expect_error(api_client.post("/api/account/provider-keys",
                                           json={"provider": "localish", "key": PLAIN_KEY}), 400, "VALIDATION_ERROR")

    assert unknown["details"]["fields"]["provider"] == ["No provider named 'nobody' is installed."]
    assert keyless["details"]["fields"]["provider"] == ["The localish provider needs no key."]


def test_revoking_twice_is_a_conflict(api_client, expect_error):
    key_id = add_my_key(api_client).json["data"]["id"]
    assert api_client.delete(f"/api/account/provider-keys/{key_id}").status_code == 200

    expect_error(api_client.delete(f"/api/account/provider-keys/{key_id}"), 409, "ILLEGAL_TRANSITION")


def test_another_persons_key_is_not_found_and_stays_active(make_user, login_api, expect_error):
    ada, bob = login_api(make_user(name="Ada")), login_api(make_user(name="Bob"))
    adas = add_my_key(ada).json["data"]["id"]

    expect_error(bob.delete(f"/api/account/provider-keys/{adas}"), 404, "NOT_FOUND")
    expect_error(bob.delete("/api/account/provider-keys/not-an-id"), 404, "NOT_FOUND")
    assert bob.get("/api/account/provider-keys").json["data"] == []
    assert ada.get("/api/account/provider-keys").json["data"][0]["status"] == "active"


def test_an_api_key_cannot_manage_its_creators_keys(api_client, create_key, bearer, expect_error, row_count):
    key_id = add_my_key(api_client).json["data"]["id"]
    key_client = bearer(create_key(api_client)["secret"])

    expect_error(add_my_key(key_client), 403, "FORBIDDEN")
    expect_error(key_client.delete(f"/api/account/provider-keys/{key_id}"), 403, "FORBIDDEN")
    expect_error(key_client.patch("/api/account/preferences", json={"theme": "dark"}), 403, "FORBIDDEN")
    assert row_count(ProviderKey) == 1
    assert api_client.get("/api/account/provider-keys").json["data"][0]["status"] == "active"


# The tenant's provider keys ----------------------------------------------------------------------
@pytest.fixture
def team(make_user, login_api, login_as, add_member):
    """An owner's tenant with an admin and a member, each signed in there."""
    owner, admin, member = make_user(name="Olive"), make_user(name="Adam"), make_user(name="Mia")
    owner_client = login_api(owner)
    add_member(owner_client, owner.tenant_id, admin, "admin")
    add_member(owner_client, owner.tenant_id, member, "member")
    return {"owner": owner_client, "admin": login_as(admin, owner.tenant_id),
            "member": login_as(member, owner.tenant_id), "tenant_id": owner.tenant_id}


def add_tenant_key(client, key: str = PLAIN_KEY):
    return client.post("/api/tenant/provider-keys", json={"provider": "acme", "key": key, "label": "team"})


def test_owners_and_admins_manage_the_tenants_keys(app, team):
    by_owner = add_tenant_key(team["owner"])
    by_admin = add_tenant_key(team["admin"], "sk-acme-admin-0000-lmno")

    assert (by_owner.status_code, by_admin.status_code) == (201, 201)
    assert (by_owner.json["data"]["owner"], by_owner.json["data"]["masked"]) == ("tenant", "…wxyz")
    listed = team["admin"].get("/api/tenant/provider-keys")
    assert [item["masked"] for item in listed.json["data"]] == ["…lmno", "…wxyz"]
    revoked = team["admin"].delete(f"/api/tenant/provider-keys/{by_owner.json['data']['id']}")
    assert revoked.json["data"]["status"] == "revoked"
    assert team["owner"].get("/api/account/provider-keys").json["data"] == []  # not the owner's own
    for response in (by_owner, listed, revoked):
        assert PLAIN_KEY not in body_of(response)
    events = team["owner"].get("/api/events", query_string={"type": "provider_key.added"}).json["data"]["items"]
    assert len(events) == 2 and PLAIN_KEY not in json.dumps(events)


def test_members_may_not_see_or_touch_the_tenants_keys(team, expect_error, row_count):
    key_id = add_tenant_key(team["owner"]).json["data"]["id"]
    member = team["member"]

    for response in (member.get("/api/tenant/provider-keys"), add_tenant_key(member, "sk-acme-member-1111"),
                     member.delete(f"/api/tenant/provider-keys/{key_id}")):
        error = expect_error(response, 403, "FORBIDDEN")
        assert "owners and admins" in error["message"]
    assert row_count(ProviderKey) == 1
    assert team["owner"].get("/api/tenant/provider-keys").json["data"][0]["status"] == "active"


def test_another_tenants_key_is_not_found(team, make_user, login_api, expect_error):
    key_id = add_tenant_key(team["owner"]).json["data"]["id"]
    outsider = login_api(make_user(name="Otto"))

    expect_error(outsider.delete(f"/api/tenant/provider-keys/{key_id}"), 404, "NOT_FOUND")
    assert outsider.get("/api/tenant/provider-keys").json["data"] == []
    personal = add_my_key(team["owner"]).json["data"]["id"]
    expect_error(team["owner"].delete(f"/api/tenant/provider-keys/{personal}"), 404, "NOT_FOUND")
