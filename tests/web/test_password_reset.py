"""Forgot password → mailed link → new password, in the browser (app/web/accounts.py)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import Flask

from app.models import OutboxMessage
from app.runtime import repositories

NEW_PASSWORD = "a brand new long password"
RESET_LINK = re.compile(r"(\S+/reset-password/\S+)")


@pytest.fixture
def reset_link(app: Flask, client, submit):
    """Ask for a reset of an account's password through the form; return the mailed link."""

    def ask(email: str) -> str:
        response = submit(client, "/forgot-password", {"email": email})
        assert response.status_code == 302
        with app.app_context():
            message = repositories().outbox.latest_to(email, "password_reset")
            assert message is not None, "no reset mail in the outbox"
            return RESET_LINK.search(message.body).group(1)

    return ask


def test_forgot_password_mails_a_link_built_from_external_url(client, submit, user, app):
    # The Host header is the caller's to forge; the link must not follow it.
    response = submit(client, "http://evil.example/forgot-password", {"email": user.email})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    with app.app_context():
        message = repositories().outbox.latest_to(user.email, "password_reset")
        assert message.to_address == user.email
        link = RESET_LINK.search(message.body).group(1)
    assert link.startswith("http://studio.test/reset-password/")
    assert "evil.example" not in message.body


def test_forgot_password_for_an_unknown_email_looks_the_same_and_mails_nothing(client, submit, row_count):
    response = submit(client, "/forgot-password", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "a reset link is on its way" in client.get("/login").get_data(as_text=True)
    assert row_count(OutboxMessage) == 0


def test_forgot_password_with_a_bad_email_shows_the_error_beside_it(client, submit, errors_beside, row_count):
    response = submit(client, "/forgot-password", {"email": "not-an-email"})

    assert response.status_code == 400
    assert errors_beside(response, "email") == ["Invalid email address."]
    assert row_count(OutboxMessage) == 0


def test_reset_page_sets_the_new_password(client, submit, user, reset_link):
    path = urlsplit(reset_link(user.email)).path
    assert client.get(path).status_code == 200

    response = submit(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    old = submit(client, "/login", {"email": user.email, "password": user.password})
    assert old.status_code == 401
    new = submit(client, "/login", {"email": user.email, "password": NEW_PASSWORD})
    assert new.status_code == 302
    assert client.get("/").status_code == 200


def test_reset_signs_out_every_browser_signed_in_before(app: Flask, client, submit, sign_in, user, reset_link):
    laptop = sign_in(app.test_client(), user)
    phone = sign_in(app.test_client(), user)
    assert laptop.get("/").status_code == 200 and phone.get("/").status_code == 200
    path = urlsplit(reset_link(user.email)).path

    submit(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    for browser in (laptop, phone):
        response = browser.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_reset_link_works_only_once(client, submit, user, reset_link):
    path = urlsplit(reset_link(user.email)).path
    submit(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    again = client.get(path)

    assert again.status_code == 302
    assert again.headers["Location"] == "/forgot-password"
    assert "not valid any more" in client.get("/forgot-password").get_data(as_text=True)
    replay = submit(client, path, {"password": "yet another long password", "confirm": "yet another long password"},
                    page="/forgot-password")
    assert replay.status_code == 302
    assert replay.headers["Location"] == "/forgot-password"
    assert submit(client, "/login", {"email": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_a_newer_link_voids_the_older_one(client, user, reset_link):
    first = urlsplit(reset_link(user.email)).path
    second = urlsplit(reset_link(user.email)).path

    assert client.get(first).headers.get("Location") == "/forgot-password"
    assert client.get(second).status_code == 200


def test_reset_with_a_short_password_shows_the_error_and_keeps_the_link(
        client, submit, user, reset_link, errors_beside):
    path = urlsplit(reset_link(user.email)).path

    response = submit(client, path, {"password": "short", "confirm": "short"})

    assert response.status_code == 400
    assert errors_beside(response, "password") == ["Use at least 10 characters."]
    assert client.get(path).status_code == 200  # the link is still good
    assert submit(client, "/login", {"email": user.email, "password": user.password}).status_code == 302


def test_reset_links_are_rate_limited_per_address_with_the_error_on_the_page(make_app, make_user, submit):
    limited = make_app(LOGIN_RATE_LIMIT="3/minute")
    client = limited.test_client()
    account = make_user()
    assert submit(client, "/forgot-password", {"email": account.email}).status_code == 302
    with limited.app_context():
        path = urlsplit(RESET_LINK.search(repositories().outbox.latest_to(account.email, "password_reset").body)
                        .group(1)).path
    for n in range(2):  # guesses at a link
        assert client.get(f"/reset-password/iwp_guess{n}").status_code == 302
    page = client.get(path)  # the third look
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)

    response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})

    assert response.status_code == 429
    assert "Too many password-reset attempts" in response.get_data(as_text=True)
    assert submit(client, "/login", {"email": account.email, "password": account.password}).status_code == 302


def test_an_unknown_reset_token_sends_the_visitor_to_ask_again(client):
    response = client.get("/reset-password/iwr_made_up_token")

    assert response.status_code == 302
    assert response.headers["Location"] == "/forgot-password"
