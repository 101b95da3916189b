"""Every browser form post needs its CSRF token (app/web/__init__.py, protect_forms)."""

from __future__ import annotations

from app.models import ApiKey, Tenant, User

FORM_EXPIRED = "The form expired or did not come from this site"


def test_register_without_a_token_is_refused_and_writes_nothing(client, row_count):
    response = client.post("/register", data={"email": "grace@example.com", "password": "a long enough password",
                                              "confirm": "a long enough password"})

    assert response.status_code == 400
    assert FORM_EXPIRED in response.get_data(as_text=True)
    assert row_count(User) == 0
    assert row_count(Tenant) == 0


def test_login_without_a_token_does_not_sign_in(client, user):
    response = client.post("/login", data={"email": user.email, "password": user.password})

    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_a_token_from_another_browser_session_is_refused(app, client, csrf_token, user):
    foreign_token = csrf_token(app.test_client(), "/login")

    response = client.post("/login", data={"email": user.email, "password": user.password,
                                           "csrf_token": foreign_token})

    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_without_a_token_keeps_the_session(browser):
    response = browser.post("/logout")

    assert response.status_code == 400
    assert browser.get("/").status_code == 200


def test_creating_an_api_key_without_a_token_writes_no_key(browser, row_count):
    response = browser.post("/api-keys", data={"name": "sneaky", "role": "owner"})

    assert response.status_code == 400
    assert row_count(ApiKey) == 0


def test_a_forged_token_is_refused(browser, row_count):
    response = browser.post("/api-keys", data={"name": "sneaky", "role": "owner", "csrf_token": "forged.token"})

    assert response.status_code == 400
    assert row_count(ApiKey) == 0


def test_the_json_api_needs_no_csrf_token(client, row_count):
    # Bearer credentials are never attached by a browser on its own, so the API is exempt.
    response = client.post("/api/auth/register", json={"email": "api@example.com", "password": "a long enough password"})

    assert response.status_code == 201
    assert row_count(User) == 1
