"""A tenant's API keys over the JSON API (app/api/api_keys.py, app/auth/api_keys.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.tokens import hash_secret
from app.extensions import db
from app.models import ApiKey, utcnow


def test_create_shows_the_secret_once(api_client, create_key):
    created = create_key(api_client, name="  deploy bot ")

    assert created["secret"].startswith("iwk_")
    assert created["prefix"] == created["secret"][:12]
    assert created["name"] == "deploy bot"
    assert created["status"] == "active"
    assert created["role"] == "member"  # whatever the creator's role (an owner here)
    assert created["expiresAt"] is None
    fetched = api_client.get(f"/api/api-keys/{created['id']}").json["data"]
    listed = api_client.get("/api/api-keys").json["data"]
    assert "secret" not in fetched
    assert [key["id"] for key in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert fetched == {name: value for name, value in created.items() if name != "secret"}


def test_the_secret_is_stored_only_as_a_hash(app, api_client, create_key):
    secret = create_key(api_client)["secret"]

    with app.app_context():
        row = db.session.execute(select(ApiKey.__table__)).mappings().one()
    assert all(secret not in str(value) for value in row.values())
    assert row["key_hash"] == hash_secret(secret)


def test_list_is_newest_first(api_client, create_key):
    first = create_key(api_client, name="first")
    second = create_key(api_client, name="second")

    listed = api_client.get("/api/api-keys").json["data"]

    assert [key["id"] for key in listed] == [second["id"], first["id"]]


def test_a_key_authenticates_as_bearer_in_its_tenant(user, api_client, create_key, bearer):
    created = create_key(api_client, role="member")
    client = bearer(created["secret"])

    me = client.get("/api/me").json["data"]

    assert me["via"] == "api_key"
    assert me["role"] == "member"
    assert me["tenant"]["id"] == str(user.tenant_id)
    assert client.get("/api/events").status_code == 200
    assert client.get("/api/api-keys").status_code == 200
    used = api_client.get(f"/api/api-keys/{created['id']}").json["data"]
    assert used["lastUsedAt"] is not None


def test_an_unknown_key_is_401_invalid_key(bearer, expect_error):
    error = expect_error(bearer("iwk_not-a-key-anyone-was-given").get("/api/me"), 401, "UNAUTHORIZED")

    assert error["details"]["reason"] == "invalid_key"


def test_revoked_key_is_refused_and_shows_revoked(api_client, create_key, bearer, expect_error):
    created = create_key(api_client)

    response = api_client.delete(f"/api/api-keys/{created['id']}")

    assert response.status_code == 200
    assert response.json["data"]["status"] == "revoked"
    assert response.json["data"]["revokedAt"] is not None
    error = expect_error(bearer(created["secret"]).get("/api/me"), 401, "UNAUTHORIZED")
    assert error["details"]["reason"] == "revoked"
    assert api_client.get(f"/api/api-keys/{created['id']}").json["data"]["status"] == "revoked"


def test_revoking_twice_is_409_illegal_transition(api_client, create_key, expect_error, row_counts):
    created = create_key(api_client)
    api_client.delete(f"/api/api-keys/{created['id']}")
    before = row_counts()

    error = expect_error(api_client.delete(f"/api/api-keys/{created['id']}"), 409, "ILLEGAL_TRANSITION")

    assert error["details"] == {"entity": "ApiKey", "from": "revoked", "to": "revoked"}
    assert row_counts() == before  # no second api_key.revoked event either


def expire(app_repos, tenant_id, key_id) -> None:
    with app_repos() as repos:
        scoped = repos.for_tenant(tenant_id)
        key = scoped.api_keys.require(key_id)
        with scoped.transaction():
            key.expires_at = utcnow() - timedelta(seconds=1)


def test_expired_key_is_401_expired(user, api_client, create_key, bearer, app_repos, expect_error):
    created = create_key(api_client, expiresInDays=7)
    assert created["expiresAt"] is not None
    expire(app_repos, user.tenant_id, created["id"])

    error = expect_error(bearer(created["secret"]).get("/api/me"), 401, "UNAUTHORIZED")

    assert error["details"]["reason"] == "expired"
    assert api_client.get(f"/api/api-keys/{created['id']}").json["data"]["status"] == "expired"


def test_listing_shows_a_lapsed_key_as_expired(user, api_client, create_key, app_repos, expect_error):
    lapsed = create_key(api_client, name="lapsed", expiresInDays=1)
    create_key(api_client, name="current", expiresInDays=30)
    expire(app_repos, user.tenant_id, lapsed["id"])

    listed = {key["name"]: key["status"] for key in api_client.get("/api/api-keys").json["data"]}

    assert listed == {"lapsed": "expired", "current": "active"}
    expect_error(api_client.delete(f"/api/api-keys/{lapsed['id']}"), 409, "ILLEGAL_TRANSITION")


def test_bad_create_bodies_are_400_and_write_nothing(api_client, expect_error, row_counts):
    before = row_counts()
    cases = {
        "name": {"name": ""},
        "expiresInDays": {"name": "x", "expiresInDays": 0},
        "role": {"name": "x", "role": "superuser"},
    }

    for field, body in cases.items():
        error = expect_error(api_client.post("/api/api-keys", json=body), 400, "VALIDATION_ERROR")
        assert field in error["details"]["fields"], (body, error)

    assert row_counts() == before


def test_a_member_cannot_create_an_owner_key(user, make_user, api_client, add_member, login_as, create_key,
                                              expect_error, row_counts):
    member = make_user()
    add_member(api_client, user.tenant_id, member, "member")
    as_member = login_as(member, user.tenant_id)
    before = row_counts()

    error = expect_error(as_member.post("/api/api-keys", json={"name": "escalate", "role": "owner"}),
                         403, "FORBIDDEN")

    assert "role" in error["details"]["fields"]
    assert row_counts() == before
    assert create_key(as_member, role="viewer")["role"] == "viewer"
    assert create_key(as_member)["role"] == "member"


def test_an_owner_may_create_a_key_of_any_role(api_client, create_key):
    assert [create_key(api_client, role=role)["role"] for role in ("owner", "admin", "member", "viewer")] == [
        "owner", "admin", "member", "viewer"]


def test_an_admin_may_create_admin_keys_and_weaker_but_not_owner_keys(
        user, make_user, api_client, add_member, login_as, create_key, expect_error, row_counts):
    admin = make_user()
    add_member(api_client, user.tenant_id, admin, "admin")
    as_admin = login_as(admin, user.tenant_id)
    before = row_counts()

    error = expect_error(as_admin.post("/api/api-keys", json={"name": "escalate", "role": "owner"}),
                         403, "FORBIDDEN")

    assert error["details"]["fields"] == {"role": ["At most admin."]}
    assert row_counts() == before
    assert [create_key(as_admin, role=role)["role"] for role in ("admin", "member", "viewer")] == [
        "admin", "member", "viewer"]
    assert create_key(as_admin)["role"] == "member"


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_member_may_create_neither_owner_nor_admin_keys(user, make_user, api_client, add_member, login_as,
                                                          expect_error, row_counts, role):
    member = make_user()
    add_member(api_client, user.tenant_id, member, "member")
    as_member = login_as(member, user.tenant_id)
    before = row_counts()

    error = expect_error(as_member.post("/api/api-keys", json={"name": "escalate", "role": role}), 403, "FORBIDDEN")

    assert error["details"]["fields"] == {"role": ["At most member."]}
    assert row_counts() == before


def test_a_viewer_cannot_create_or_list_keys(user, make_user, api_client, add_member, login_as, expect_error,
                                            row_counts):
    viewer = make_user()
    add_member(api_client, user.tenant_id, viewer, "viewer")
    as_viewer = login_as(viewer, user.tenant_id)
    before = row_counts()

    expect_error(as_viewer.post("/api/api-keys", json={"name": "nope"}), 403, "FORBIDDEN")
    expect_error(as_viewer.get("/api/api-keys"), 403, "FORBIDDEN")

    assert row_counts() == before


def test_a_key_acts_only_in_its_own_tenant(user, api_client, create_key, bearer, expect_error):
    organisation = api_client.post("/api/tenants", json={"name": "Press"}).json["data"]
    secret = create_key(api_client)["secret"]
    switch = {"X-Tenant-ID": organisation["id"]}

    error = expect_error(bearer(secret).get("/api/me", headers=switch), 403, "FORBIDDEN")

    assert error["details"]["tenantId"] == organisation["id"]
    # The person who made the key may switch; the key may not.
    assert api_client.get("/api/me", headers=switch).json["data"]["tenant"]["id"] == organisation["id"]
    own = bearer(secret).get("/api/me", headers={"X-Tenant-ID": str(user.tenant_id)})
    assert own.status_code == 200
    # Nor can the key reach its creator's other tenant by its URL.
    expect_error(bearer(secret).get(f"/api/tenants/{organisation['id']}/members"), 404, "NOT_FOUND")
    assert [t["id"] for t in bearer(secret).get("/api/tenants").json["data"]] == [str(user.tenant_id)]


def test_a_key_made_in_another_tenant_acts_there(api_client, create_key, bearer):
    organisation = api_client.post("/api/tenants", json={"name": "Press"}).json["data"]
    secret = create_key(api_client, headers={"X-Tenant-ID": organisation["id"]})["secret"]

    me = bearer(secret).get("/api/me").json["data"]

    assert me["tenant"]["id"] == organisation["id"]
    assert [t["id"] for t in bearer(secret).get("/api/tenants").json["data"]] == [organisation["id"]]


def test_a_key_cannot_create_tenants(api_client, create_key, bearer, expect_error, row_counts):
    secret = create_key(api_client)["secret"]
    before = row_counts()

    expect_error(bearer(secret).post("/api/tenants", json={"name": "Shadow"}), 403, "FORBIDDEN")

    assert row_counts() == before


def test_a_key_has_its_own_role_not_its_creators(user, api_client, create_key, bearer, make_user, expect_error,
                                                 row_counts):
    secret = create_key(api_client, role="viewer")["secret"]
    newcomer = make_user()
    before = row_counts()

    response = bearer(secret).post(f"/api/tenants/{user.tenant_id}/members", json={"email": newcomer.email})

    expect_error(response, 403, "FORBIDDEN")
    assert row_counts() == before
    expect_error(bearer(secret).post("/api/api-keys", json={"name": "more"}), 403, "FORBIDDEN")
