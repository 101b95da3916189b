"""Guests of a tenant (app/guests.py): let in for what a plugin shared with them, they reach
only the endpoints that welcome guests — their own notifications, exports and API keys here —
and nothing of the tenant at large; nobody is made a guest directly."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, ApiKeyStatus, Membership, Role
from app.runtime import repositories
from app.toolkit import admit_guest, release_guest


@pytest.fixture
def host(make_user):
    return make_user(name="Host")


@pytest.fixture
def guest(app, host, make_user):
    account = make_user(name="Guest")
    with app.test_request_context():
        repos = repositories()
        with repos.transaction():
            admit_guest(host.tenant_id, account.user.id, host.user.id)
    return account


def in_host(host) -> dict[str, str]:
    return {"X-Tenant-ID": str(host.tenant_id)}


def test_a_guest_reaches_their_own_things_and_nothing_of_the_tenant(guest, host, login_api):
    client = login_api(guest)
    assert client.get("/api/me", headers=in_host(host)).json["data"]["role"] == "guest"
    for tenant_wide in ("/api/runs", "/api/workflows", "/api/audit-log", "/api/webhooks",
                        f"/api/tenants/{host.tenant_id}/members"):
        refused = client.get(tenant_wide, headers=in_host(host))
        assert refused.status_code == 403, (tenant_wide, refused.json)
    assert client.get("/api/notifications", headers=in_host(host)).status_code == 200
    assert client.get("/api/exports", headers=in_host(host)).status_code == 200
    key = client.post("/api/api-keys", json={"name": "git"}, headers=in_host(host))
    assert key.status_code == 201 and key.json["data"]["role"] == "guest"
    stronger = client.post("/api/api-keys", json={"name": "more", "role": "member"}, headers=in_host(host))
    assert stronger.status_code == 403


def test_a_guest_key_is_a_guest_and_goes_with_the_membership(app, guest, host, login_api, client):
    secret = login_api(guest).post("/api/api-keys", json={"name": "git"}, headers=in_host(host)).json["data"]["secret"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/runs", headers=headers).status_code == 403
    with app.test_request_context():
        repos = repositories()
        with repos.transaction():
            assert release_guest(host.tenant_id, guest.user.id) is True
            assert release_guest(host.tenant_id, host.user.id) is False  # an owner's membership stays
    assert client.get("/api/notifications", headers=headers).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(ApiKey.status).where(ApiKey.created_by_user_id == guest.user.id)) == \
            ApiKeyStatus.REVOKED
        assert db.session.scalars(select(Membership).where(Membership.user_id == guest.user.id,
                                                           Membership.tenant_id == host.tenant_id)).first() is None


def test_admitting_a_member_leaves_them_a_member(app, host, make_user, login_api):
    member = make_user(name="Member")
    added = login_api(host).post(f"/api/tenants/{host.tenant_id}/members", json={"email": member.email})
    assert added.status_code == 201
    with app.test_request_context():
        repos = repositories()
        with repos.transaction():
            admit_guest(host.tenant_id, member.user.id)
            assert repos.for_tenant(host.tenant_id).memberships.for_user(member.user.id).role == Role.MEMBER


def test_nobody_is_made_a_guest_directly(host, make_user, login_api):
    other = make_user(name="Other")
    refused = login_api(host).post(f"/api/tenants/{host.tenant_id}/members",
                                   json={"email": other.email, "role": "guest"})
    assert refused.status_code == 400 and "role" in refused.json["error"]["details"]["fields"]


def test_a_guest_on_a_studio_page_of_the_tenant_at_large_is_refused(app, guest, host):
    browser = app.test_client()
    page = browser.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert browser.post("/login", data={"email": guest.email, "password": guest.password,
                                        "csrf_token": token}).status_code == 302
    with browser.session_transaction() as session:
        session["tenant_id"] = str(host.tenant_id)
    # No plugin here welcomes guests, so there is nowhere to send them: refused.
    assert browser.get("/").status_code == 403
    assert browser.get("/workflows").status_code == 403
    assert browser.get("/notifications").status_code == 200
