"""Registering, signing in and signing out in the browser (app/web/accounts.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.models import Membership, Role, Tenant, TenantKind, User
from app.runtime import repositories

NEW_PASSWORD = "a long enough password"


def registration(**changes: str) -> dict[str, str]:
    return {"name": "Grace Hopper", "email": "grace@example.com", "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD, **changes}


# Register -------------------------------------------------------------------------------

def test_register_signs_in_and_lands_on_the_dashboard_of_a_new_personal_tenant(app: Flask, client, submit):
    response = submit(client, "/register", registration())

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    page = dashboard.get_data(as_text=True)
    assert "Grace Hopper&#39;s studio" in page
    assert "grace@example.com" in page
    with app.app_context():
        user = repositories().users.find_by_email("grace@example.com")
        assert user is not None and user.name == "Grace Hopper"
        [(tenant, role)] = repositories().tenants.for_user(user.id)
        assert tenant.kind == TenantKind.PERSONAL
        assert role == Role.OWNER


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"confirm": "another long password"}, "confirm", "The passwords differ."),
    ({"password": "short", "confirm": "short"}, "password", "Use at least 10 characters."),
    ({"email": "not-an-email"}, "email", "Invalid email address."),
    ({"email": ""}, "email", "This field is required."),
], ids=["passwords-differ", "short-password", "bad-email", "missing-email"])
def test_register_with_bad_input_shows_the_error_beside_the_field_and_writes_nothing(
        client, submit, errors_beside, row_count, changes, field, message):
    response = submit(client, "/register", registration(**changes))

    assert response.status_code == 400
    assert message in errors_beside(response, field)
    assert row_count(User) == 0
    assert row_count(Tenant) == 0
    assert client.get("/").status_code == 302  # still signed out


def test_register_with_a_taken_email_says_so_beside_the_email_and_writes_nothing(
        client, submit, make_user, errors_beside, row_count):
    make_user(email="taken@example.com")
    users, tenants, memberships = row_count(User), row_count(Tenant), row_count(Membership)

    response = submit(client, "/register", registration(email="Taken@Example.com"))

    assert response.status_code == 400
    assert errors_beside(response, "email") == ["Already registered."]
    assert (row_count(User), row_count(Tenant), row_count(Membership)) == (users, tenants, memberships)


def test_register_comes_back_to_a_local_next_with_the_email_a_link_brought(client, submit):
    # An invitation's page sends a newcomer here and expects them back (DraftForge's people pages).
    page = client.get("/register?next=/invitations/abc&email=grace%40example.com")
    assert 'value="grace@example.com"' in page.get_data(as_text=True)
    assert 'href="/login?next=/invitations/abc"' in page.get_data(as_text=True)

    response = submit(client, "/register?next=/invitations/abc", registration())

    assert response.status_code == 302
    assert response.headers["Location"] == "/invitations/abc"


@pytest.mark.parametrize("target", ["http://evil.example/steal", "//evil.example/steal", "https:evil.example"])
def test_register_ignores_a_next_that_leaves_the_site(client, submit, target):
    response = submit(client, "/register", registration(), page="/register", query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_fills_in_the_email_a_link_brought(client):
    page = client.get("/login?email=grace%40example.com")

    assert 'value="grace@example.com"' in page.get_data(as_text=True)


def test_register_is_rate_limited_per_address_with_the_error_on_the_form(make_app, submit, row_count):
    limited = make_app(LOGIN_RATE_LIMIT="2/minute")
    mismatch = submit(limited.test_client(), "/register", registration(email="grace@example.com", confirm="other"))
    assert mismatch.status_code == 400  # what the form itself refuses is not counted
    for n in range(2):  # one browser each, all from the test client's one address
        signed_up = submit(limited.test_client(), "/register", registration(email=f"grace{n}@example.com"))
        assert signed_up.status_code == 302
    before = row_count(User)
    client = limited.test_client()

    response = submit(client, "/register", registration(email="grace2@example.com"))

    assert response.status_code == 429
    assert "Too many registrations" in response.get_data(as_text=True)
    assert row_count(User) == before
    assert client.get("/").status_code == 302  # not signed in


def test_register_keeps_what_was_typed_except_the_passwords(client, submit):
    response = submit(client, "/register", registration(confirm="another long password"))

    page = response.get_data(as_text=True)
    assert 'value="grace@example.com"' in page
    assert 'value="Grace Hopper"' in page
    assert NEW_PASSWORD not in page


# Sign in --------------------------------------------------------------------------------

def test_login_with_the_right_password_opens_the_dashboard(client, submit, user):
    response = submit(client, "/login", {"email": user.email, "password": user.password})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert user.email in dashboard.get_data(as_text=True)


def test_login_with_a_wrong_password_answers_401_with_the_error_beside_the_password(
        client, submit, user, errors_beside):
    response = submit(client, "/login", {"email": user.email, "password": "not the password at all"})

    assert response.status_code == 401
    assert errors_beside(response, "password") == ["The email or password is not right."]
    assert client.get("/").status_code == 302


def test_login_for_an_unknown_email_gives_the_same_answer_as_a_wrong_password(client, submit, errors_beside):
    response = submit(client, "/login", {"email": "nobody@example.com", "password": "whatever it is"})

    assert response.status_code == 401
    assert errors_beside(response, "password") == ["The email or password is not right."]


def test_login_is_rate_limited_even_for_the_right_password(make_app, make_user, submit):
    limited = make_app(LOGIN_RATE_LIMIT="2/minute")
    account = make_user()
    client = limited.test_client()
    for _ in range(2):
        assert submit(client, "/login", {"email": account.email, "password": "wrong password"}).status_code == 401

    response = submit(client, "/login", {"email": account.email, "password": account.password})

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_anonymous_visitor_is_sent_to_login_with_next(client):
    response = client.get("/api-keys")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fapi-keys"


def test_login_follows_a_local_next_path(client, submit, user):
    response = submit(client, "/login?next=/api-keys", {"email": user.email, "password": user.password})

    assert response.status_code == 302
    assert response.headers["Location"] == "/api-keys"


@pytest.mark.parametrize("target", ["http://evil.example/steal", "//evil.example/steal", "https:evil.example"])
def test_login_ignores_a_next_that_leaves_the_site(client, submit, user, target):
    response = submit(client, "/login", {"email": user.email, "password": user.password},
                      page="/login", query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_records_the_sign_in_time(app: Flask, client, sign_in, user):
    with app.app_context():
        before = repositories().users.get(user.user.id).last_login_at
        db.session.remove()

    sign_in(client, user)

    with app.app_context():
        assert repositories().users.get(user.user.id).last_login_at > before


# Sign out -------------------------------------------------------------------------------

def test_logout_ends_the_session(browser, submit):
    assert browser.get("/").status_code == 200

    response = submit(browser, "/logout", page="/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert browser.get("/").status_code == 302
    assert browser.get("/api-keys").headers["Location"].startswith("/login")


def test_logout_by_get_is_not_allowed(browser):
    assert browser.get("/logout").status_code == 405
    assert browser.get("/").status_code == 200
