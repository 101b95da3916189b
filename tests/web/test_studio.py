"""The signed-in studio: dashboard, API keys page, switching tenant (app/web/studio.py)."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from app.models import ApiKey, ApiKeyStatus, Role
from app.runtime import repositories

SECRET = re.compile(r'<code id="new-api-key"[^>]*>([^<]+)</code>')
REVOKE_ACTION = re.compile(r'action="/api-keys/([0-9a-f-]{36})/revoke"')
ROLE_OPTIONS = re.compile(r'<select[^>]*name="role"[^>]*>(.*?)</select>', re.S)


@pytest.fixture
def create_key(submit):
    """Create a key through the API keys page; returns the page and the secret it shows."""

    def create(client, name: str = "CI pipeline", **fields: str) -> tuple[object, str | None]:
        if "role" not in fields:  # send the role the page preselects, as a browser would
            fields["role"] = selected_role(client.get("/api-keys").get_data(as_text=True))
        response = submit(client, "/api-keys", {"name": name, **fields}, follow_redirects=True)
        match = SECRET.search(response.get_data(as_text=True))
        return response, match.group(1) if match else None

    return create


def role_choices(page: str) -> list[str]:
    return re.findall(r'<option[^>]*value="([a-z]+)"', ROLE_OPTIONS.search(page).group(1))


def selected_role(page: str) -> str:
    return re.search(r'<option selected value="([a-z]+)"', ROLE_OPTIONS.search(page).group(1)).group(1)


# Dashboard ------------------------------------------------------------------------------

def test_dashboard_lists_the_members_and_recent_events_of_the_tenant(
        app: Flask, make_user, add_member, sign_in, create_key):
    owner, colleague, outsider = make_user(name="Ada"), make_user(name="Charles"), make_user(name="Mallory")
    add_member(owner.tenant_id, colleague, Role.MEMBER)
    create_key(sign_in(app.test_client(), outsider), "outsider key")  # an event in another tenant

    page = sign_in(app.test_client(), owner).get("/").get_data(as_text=True)

    assert "<h1>Ada&#39;s studio</h1>" in page
    assert re.search(rf"<td>Ada</td><td>{re.escape(owner.email)}</td><td>owner</td>", page)
    assert re.search(rf"<td>Charles</td><td>{re.escape(colleague.email)}</td><td>member</td>", page)
    assert outsider.email not in page
    assert "<code>user.registered</code>" in page and "<code>tenant.created</code>" in page
    assert "api_key.created" not in page


# API keys -------------------------------------------------------------------------------

def test_a_new_key_is_shown_once_and_works_as_a_bearer_credential(browser, client, create_key, user):
    response, secret = create_key(browser, "CI pipeline", role="member")

    assert response.status_code == 200
    assert secret and secret.startswith("iwk_")
    later = browser.get("/api-keys").get_data(as_text=True)
    assert secret not in later
    assert "CI pipeline" in later and "active" in later
    me = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json["data"]["tenant"]["id"] == str(user.tenant_id)
    assert me.json["data"]["role"] == "member"


def test_the_new_key_page_is_a_redirect_so_a_reload_makes_no_second_key_and_shows_no_secret(
        app: Flask, browser, submit, user, row_count):
    made = submit(browser, "/api-keys", {"name": "Reloaded", "role": "member"})
    assert made.status_code == 303 and made.headers["Location"].endswith("/api-keys")
    # The secret never rides in the (signed, readable) session cookie; Redis holds it once.
    assert "iwk_" not in (made.headers.get("Set-Cookie") or "")

    shown = browser.get("/api-keys").get_data(as_text=True)
    assert SECRET.search(shown) and 'data-copy="new-api-key"' in shown
    again = browser.get("/api-keys").get_data(as_text=True)  # the reload
    assert SECRET.search(again) is None
    with app.app_context():
        assert row_count(ApiKey) == 1


def test_a_key_is_stored_only_as_a_hash(app: Flask, browser, create_key, user):
    _response, secret = create_key(browser)

    with app.app_context():
        [key] = repositories(user.tenant_id).api_keys.list()
        assert key.key_hash != secret and secret not in key.key_hash
        assert secret.startswith(key.prefix) and len(key.prefix) < len(secret)


def test_an_owner_may_give_a_key_any_role(browser):
    assert role_choices(browser.get("/api-keys").get_data(as_text=True)) == ["owner", "admin", "member", "viewer"]


def test_the_form_chooses_the_member_role_unless_told_otherwise(app: Flask, browser, create_key, user):
    assert selected_role(browser.get("/api-keys").get_data(as_text=True)) == "member"

    response, _secret = create_key(browser)

    assert selected_role(response.get_data(as_text=True)) == "member"  # the empty form after it, too
    with app.app_context():
        [key] = repositories(user.tenant_id).api_keys.list()
        assert key.role == Role.MEMBER


def test_an_admin_may_give_a_key_the_admin_role_but_not_the_owner_role(
        app: Flask, make_user, add_member, sign_in, submit, create_key, errors_beside, row_count):
    owner, admin = make_user(), make_user()
    add_member(owner.tenant_id, admin, Role.ADMIN)
    client = sign_in(app.test_client(), admin)
    submit(client, f"/tenants/{owner.tenant_id}/switch", page="/")

    assert role_choices(client.get("/api-keys").get_data(as_text=True)) == ["admin", "member", "viewer"]
    response, secret = create_key(client, "escalate", role="owner")
    assert (response.status_code, secret) == (400, None)
    assert errors_beside(response, "role") == ["Not a valid choice."]
    assert row_count(ApiKey) == 0
    _response, secret = create_key(client, "deputy", role="admin")
    assert secret is not None
    with app.app_context():
        assert [key.role for key in repositories(owner.tenant_id).api_keys.list()] == [Role.ADMIN]


def test_a_member_may_give_a_key_at_most_the_member_role(
        app: Flask, make_user, add_member, sign_in, submit, create_key, errors_beside, row_count):
    owner, member = make_user(), make_user()
    add_member(owner.tenant_id, member, Role.MEMBER)
    client = sign_in(app.test_client(), member)
    submit(client, f"/tenants/{owner.tenant_id}/switch", page="/")

    assert role_choices(client.get("/api-keys").get_data(as_text=True)) == ["member", "viewer"]
    response, secret = create_key(client, "escalate", role="owner")
    assert response.status_code == 400
    assert secret is None
    assert errors_beside(response, "role") == ["Not a valid choice."]
    assert row_count(ApiKey) == 0


def test_a_viewer_cannot_create_keys(app: Flask, make_user, add_member, sign_in, submit, create_key, row_count):
    owner, viewer = make_user(), make_user()
    add_member(owner.tenant_id, viewer, Role.VIEWER)
    client = sign_in(app.test_client(), viewer)
    submit(client, f"/tenants/{owner.tenant_id}/switch", page="/")
    assert "Create a key" not in client.get("/api-keys").get_data(as_text=True)

    response, secret = create_key(client, "sneaky", role="viewer")

    assert response.status_code == 403
    assert secret is None
    assert row_count(ApiKey) == 0


def test_a_key_without_a_name_is_refused_beside_the_name(browser, create_key, errors_beside, row_count):
    response, secret = create_key(browser, "   ")

    assert response.status_code == 400
    assert secret is None
    assert errors_beside(response, "name") == ["This field is required."]
    assert row_count(ApiKey) == 0


def test_revoking_a_key_stops_it_working(browser, client, submit, create_key):
    _response, secret = create_key(browser)
    [key_id] = REVOKE_ACTION.findall(browser.get("/api-keys").get_data(as_text=True))

    response = submit(browser, f"/api-keys/{key_id}/revoke", page="/api-keys")

    assert response.status_code == 302
    assert response.headers["Location"] == "/api-keys"
    page = browser.get("/api-keys").get_data(as_text=True)
    assert "is revoked" in page and "status-revoked" in page
    assert REVOKE_ACTION.findall(page) == []
    me = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 401
    assert me.json["error"]["details"]["reason"] == "revoked"


def test_revoking_another_tenants_key_is_not_found_and_leaves_it_active(
        app: Flask, make_user, sign_in, submit, create_key):
    owner, stranger = make_user(), make_user()
    create_key(sign_in(app.test_client(), owner), "owner's key")
    with app.app_context():
        [key] = repositories(owner.tenant_id).api_keys.list()
        key_id = key.id
    client = sign_in(app.test_client(), stranger)

    response = submit(client, f"/api-keys/{key_id}/revoke", page="/api-keys")

    assert response.status_code == 404
    with app.app_context():
        assert repositories(owner.tenant_id).api_keys.get(key_id).status == ApiKeyStatus.ACTIVE


def test_revoking_an_unknown_key_id_is_not_found(browser, submit):
    assert submit(browser, "/api-keys/not-a-uuid/revoke", page="/api-keys").status_code == 404


# Switching tenant -----------------------------------------------------------------------

def test_a_user_of_two_tenants_switches_between_them(app: Flask, make_user, add_member, sign_in, submit, create_key):
    owner, member = make_user(name="Ada"), make_user(name="Charles")
    add_member(owner.tenant_id, member, Role.ADMIN)
    client = sign_in(app.test_client(), member)
    assert "<h1>Charles&#39;s studio</h1>" in client.get("/").get_data(as_text=True)

    response = submit(client, f"/tenants/{owner.tenant_id}/switch", page="/")

    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Ada&#39;s studio</h1>" in page
    assert "You are <strong>admin</strong> here." in page
    _response, secret = create_key(client, "acts in Ada's studio")
    me = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json["data"]["tenant"]["id"] == str(owner.tenant_id)


@pytest.mark.parametrize("target", ["stranger", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_switching_to_a_tenant_you_do_not_belong_to_is_not_found(
        app: Flask, make_user, sign_in, submit, target):
    ada, stranger = make_user(name="Ada"), make_user(name="Mallory")
    tenant_id = stranger.tenant_id if target == "stranger" else target
    client = sign_in(app.test_client(), ada)

    response = submit(client, f"/tenants/{tenant_id}/switch", page="/")

    assert response.status_code == 404
    assert "<h1>Ada&#39;s studio</h1>" in client.get("/").get_data(as_text=True)
