"""The caller, their tenants and a tenant's members (app/api/tenants.py, app/tenancy.py)."""

from __future__ import annotations


import pytest


@pytest.fixture
def organisation(api_client) -> dict:
    """An organisation tenant owned by ``user``."""
    response = api_client.post("/api/tenants", json={"name": "Quill & Ink Press"})
    assert response.status_code == 201, response.json
    return response.json["data"]


def members_of(client, tenant_id) -> dict[str, str]:
    response = client.get(f"/api/tenants/{tenant_id}/members")
    assert response.status_code == 200, response.json
    return {member["email"]: member["role"] for member in response.json["data"]}


def test_me_tells_who_where_and_what(user, api_client):
    me = api_client.get("/api/me").json["data"]

    assert me["user"]["id"] == str(user.user.id)
    assert me["user"]["email"] == user.email
    tenant = me["tenant"]
    assert (tenant["id"], tenant["kind"], tenant["role"]) == (str(user.tenant_id), "personal", "owner")
    assert me["role"] == "owner"
    assert me["via"] == "token"
    assert {"resource": "api_keys", "actions": ["create", "read", "revoke"]} in me["permissions"]


def test_tenants_lists_the_personal_tenant(user, api_client):
    tenants = api_client.get("/api/tenants").json["data"]

    assert [(t["id"], t["kind"], t["role"]) for t in tenants] == [(str(user.tenant_id), "personal", "owner")]


def test_create_tenant_makes_the_caller_its_owner(user, api_client, organisation):
    assert organisation["kind"] == "organisation"
    assert organisation["role"] == "owner"
    assert organisation["slug"] == "quill-ink-press"
    listed = {t["id"]: t["role"] for t in api_client.get("/api/tenants").json["data"]}
    assert listed == {str(user.tenant_id): "owner", organisation["id"]: "owner"}
    assert members_of(api_client, organisation["id"]) == {user.email: "owner"}
    assert api_client.get(f"/api/tenants/{organisation['id']}").json["data"]["name"] == "Quill & Ink Press"


def test_tenants_with_the_same_name_get_distinct_slugs(api_client, organisation):
    again = api_client.post("/api/tenants", json={"name": "Quill & Ink Press"}).json["data"]

    assert again["slug"] != organisation["slug"]
    assert again["slug"].startswith("quill-ink-press")


def test_create_tenant_with_a_bad_body_is_400_and_writes_nothing(api_client, expect_error, row_counts):
    before = row_counts()

    error = expect_error(api_client.post("/api/tenants", json={"name": ""}), 400, "VALIDATION_ERROR")

    assert "name" in error["details"]["fields"]
    assert row_counts() == before


def test_owner_adds_changes_and_removes_a_member(user, make_user, api_client, organisation, add_member):
    writer = make_user(name="Writer")

    added = add_member(api_client, organisation["id"], writer, "member")
    assert (added["email"], added["role"], added["name"]) == (writer.email, "member", "Writer")
    assert members_of(api_client, organisation["id"]) == {user.email: "owner", writer.email: "member"}

    patched = api_client.patch(f"/api/tenants/{organisation['id']}/members/{added['id']}", json={"role": "admin"})
    assert patched.status_code == 200
    assert patched.json["data"]["role"] == "admin"

    removed = api_client.delete(f"/api/tenants/{organisation['id']}/members/{added['id']}")
    assert removed.status_code == 200
    assert members_of(api_client, organisation["id"]) == {user.email: "owner"}


def test_adding_an_unknown_email_is_404_and_writes_nothing(api_client, organisation, expect_error, row_counts):
    before = row_counts()

    response = api_client.post(f"/api/tenants/{organisation['id']}/members", json={"email": "ghost@example.com"})

    assert "email" in expect_error(response, 404, "NOT_FOUND")["details"]["fields"]
    assert row_counts() == before


def test_adding_a_member_twice_is_409(make_user, api_client, organisation, add_member, expect_error, row_counts):
    writer = make_user()
    add_member(api_client, organisation["id"], writer)
    before = row_counts()

    response = api_client.post(f"/api/tenants/{organisation['id']}/members", json={"email": writer.email})

    assert "email" in expect_error(response, 409, "CONFLICT")["details"]["fields"]
    assert row_counts() == before


def test_the_last_owner_cannot_leave_or_step_down(user, api_client, organisation, expect_error, row_counts):
    own = next(m for m in api_client.get(f"/api/tenants/{organisation['id']}/members").json["data"])
    path = f"/api/tenants/{organisation['id']}/members/{own['id']}"
    before = row_counts()

    expect_error(api_client.patch(path, json={"role": "admin"}), 409, "CONFLICT")
    expect_error(api_client.delete(path), 409, "CONFLICT")

    assert row_counts() == before
    assert members_of(api_client, organisation["id"]) == {user.email: "owner"}


def test_an_owner_may_step_down_once_another_owner_exists(user, make_user, api_client, organisation, add_member):
    partner = make_user()
    add_member(api_client, organisation["id"], partner, "owner")
    own = next(m for m in api_client.get(f"/api/tenants/{organisation['id']}/members").json["data"]
               if m["email"] == user.email)

    response = api_client.patch(f"/api/tenants/{organisation['id']}/members/{own['id']}", json={"role": "member"})

    assert response.status_code == 200
    assert members_of(api_client, organisation["id"]) == {user.email: "member", partner.email: "owner"}


def test_an_admin_cannot_manage_owners(user, make_user, api_client, organisation, add_member, login_as,
                                       expect_error, row_counts):
    admin, newcomer = make_user(), make_user()
    add_member(api_client, organisation["id"], admin, "admin")
    as_admin = login_as(admin, organisation["id"])
    owner = next(m for m in as_admin.get(f"/api/tenants/{organisation['id']}/members").json["data"]
                 if m["role"] == "owner")
    owner_path = f"/api/tenants/{organisation['id']}/members/{owner['id']}"
    before = row_counts()

    expect_error(as_admin.patch(owner_path, json={"role": "viewer"}), 403, "FORBIDDEN")
    expect_error(as_admin.delete(owner_path), 403, "FORBIDDEN")
    expect_error(as_admin.post(f"/api/tenants/{organisation['id']}/members",
                               json={"email": newcomer.email, "role": "owner"}), 403, "FORBIDDEN")

    assert row_counts() == before
    # Below owner, an admin does manage members.
    assert add_member(as_admin, organisation["id"], newcomer, "member")["role"] == "member"


def test_a_member_may_read_but_not_manage_members(make_user, api_client, organisation, add_member, login_as,
                                                  expect_error, row_counts):
    member, newcomer = make_user(), make_user()
    membership = add_member(api_client, organisation["id"], member, "member")
    as_member = login_as(member, organisation["id"])
    before = row_counts()

    assert member.email in members_of(as_member, organisation["id"])
    expect_error(as_member.post(f"/api/tenants/{organisation['id']}/members", json={"email": newcomer.email}),
                 403, "FORBIDDEN")
    expect_error(as_member.patch(f"/api/tenants/{organisation['id']}/members/{membership['id']}",
                                 json={"role": "admin"}), 403, "FORBIDDEN")

    assert row_counts() == before


def test_x_tenant_id_switches_between_a_members_tenants(user, make_user, api_client, organisation, add_member,
                                                        login_api):
    writer = make_user()
    add_member(api_client, organisation["id"], writer, "viewer")
    as_writer = login_api(writer)

    personal = as_writer.get("/api/me").json["data"]
    switched = as_writer.get("/api/me", headers={"X-Tenant-ID": organisation["id"]}).json["data"]

    assert (personal["tenant"]["id"], personal["role"]) == (str(writer.tenant_id), "owner")
    assert (switched["tenant"]["id"], switched["role"]) == (organisation["id"], "viewer")
    listed = {t["id"]: t["role"] for t in as_writer.get("/api/tenants").json["data"]}
    assert listed == {str(writer.tenant_id): "owner", organisation["id"]: "viewer"}


@pytest.mark.parametrize("header", ["not-a-uuid", "6b0e2c1d-9f3a-4e57-8c2b-1d4f5a6e7b80"])  # no tenant has that id
def test_x_tenant_id_of_a_tenant_you_are_not_in_is_403(api_client, header, expect_error):
    error = expect_error(api_client.get("/api/me", headers={"X-Tenant-ID": header}), 403, "FORBIDDEN")

    assert error["details"]["tenantId"] == header


def test_a_removed_member_loses_the_tenant(make_user, api_client, organisation, add_member, login_api,
                                           expect_error):
    writer = make_user()
    membership = add_member(api_client, organisation["id"], writer)
    as_writer = login_api(writer)
    switch = {"X-Tenant-ID": organisation["id"]}
    assert as_writer.get("/api/me", headers=switch).status_code == 200

    api_client.delete(f"/api/tenants/{organisation['id']}/members/{membership['id']}")

    expect_error(as_writer.get("/api/me", headers=switch), 403, "FORBIDDEN")
    expect_error(as_writer.get(f"/api/tenants/{organisation['id']}"), 404, "NOT_FOUND")


def test_login_may_choose_the_tenant_to_act_in(make_user, api_client, organisation, add_member, login_as):
    writer = make_user()
    add_member(api_client, organisation["id"], writer, "admin")

    as_writer = login_as(writer, organisation["id"])

    assert as_writer.get("/api/me").json["data"]["tenant"]["id"] == organisation["id"]


def test_login_into_a_tenant_you_are_not_in_is_403(client, user, organisation, make_user, expect_error):
    stranger = make_user()
    body = {"email": stranger.email, "password": stranger.password, "tenantId": organisation["id"]}

    expect_error(client.post("/api/auth/login", json=body), 403, "FORBIDDEN")
