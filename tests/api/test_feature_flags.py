"""Feature flags over the API: platform administrators manage them; a person reads their own."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin_client(make_user, login_api):
    return login_api(make_user(platform_admin=True))


def test_an_administrator_creates_changes_lists_and_deletes_a_flag(admin_client, api_client, user):
    created = admin_client.post("/api/feature-flags", json={
        "flagKey": "editor.new", "name": "The new editor", "isEnabled": True, "rolloutPercentage": 0,
        "rolloutUserIds": [str(user.user.id)], "rolloutTiers": ["creator"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.json["data"]["rolloutTiers"] == ["creator"]

    assert api_client.get("/api/feature-flags/mine").json["data"] == {"flags": {"editor.new": True}}
    changed = admin_client.patch("/api/feature-flags/editor.new", json={"rolloutUserIds": [], "rolloutPercentage": 100})
    assert changed.status_code == 200 and changed.json["data"]["rolloutPercentage"] == 100
    # 14.0 is an integer to JSON schema, as the document's "type: integer" means it (the fuzzer sent it).
    changed = admin_client.patch("/api/feature-flags/editor.new", json={"rolloutPercentage": 14.0})
    assert changed.status_code == 200 and changed.json["data"]["rolloutPercentage"] == 14
    admin_client.patch("/api/feature-flags/editor.new", json={"rolloutPercentage": 100})
    assert [flag["flagKey"] for flag in admin_client.get("/api/feature-flags").json["data"]] == ["editor.new"]

    deleted = admin_client.delete("/api/feature-flags/editor.new")
    assert deleted.status_code == 200 and deleted.json["data"]["flagKey"] == "editor.new"
    assert api_client.get("/api/feature-flags/mine").json["data"] == {"flags": {}}


def test_only_administrators_manage_flags(api_client, expect_error):
    expect_error(api_client.get("/api/feature-flags"), 403, "FORBIDDEN")
    expect_error(api_client.post("/api/feature-flags", json={"flagKey": "a.b"}), 403, "FORBIDDEN")


@pytest.mark.parametrize("body", [
    {"flagKey": "a.b", "rolloutPercentage": 101}, {"flagKey": "a.b", "rolloutPercentage": "50"},
    {"flagKey": "a.b", "rolloutPercentage": 14.5}, {"flagKey": "a.b", "rolloutPercentage": True},
    {"flagKey": "a.b", "rolloutTiers": ["gold"]}, {"flagKey": "a.b", "rolloutUserIds": ["x"]},
    {"flagKey": "Not A Key"}, {}, {"flagKey": "a.b", "isEnabled": "yes"},
])
def test_bad_flags_are_refused_and_nothing_is_written(admin_client, expect_error, body):
    expect_error(admin_client.post("/api/feature-flags", json=body), 400, "VALIDATION_ERROR")
    assert admin_client.get("/api/feature-flags").json["data"] == []


def test_a_second_flag_with_the_same_key_conflicts_and_a_missing_one_is_not_found(admin_client, expect_error):
    assert admin_client.post("/api/feature-flags", json={"flagKey": "a.b"}).status_code == 201
    expect_error(admin_client.post("/api/feature-flags", json={"flagKey": "a.b"}), 409, "CONFLICT")
    expect_error(admin_client.patch("/api/feature-flags/none.here", json={"isEnabled": True}), 404, "NOT_FOUND")
    expect_error(admin_client.patch("/api/feature-flags/a.b", json={"rolloutPercentage": 101}), 400,
                 "VALIDATION_ERROR")
