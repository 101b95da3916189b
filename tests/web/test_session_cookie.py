"""The browser session cookie's flags (app/__init__.py, _flask_settings)."""

from __future__ import annotations


def session_cookie(response) -> str:
    [cookie] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("inkwright_session=")]
    return cookie


def test_session_cookie_is_http_only_and_same_site_lax(client, submit, user):
    response = submit(client, "/login", {"email": user.email, "password": user.password})

    flags = [part.strip() for part in session_cookie(response).split(";")]
    assert "HttpOnly" in flags
    assert "SameSite=Lax" in flags
    assert "Secure" not in flags  # plain http on localhost must keep working by default


def test_session_cookie_is_secure_when_secure_cookies_is_set(make_app, make_user, submit):
    secure_app = make_app(SECURE_COOKIES=True)
    account = make_user()
    client = secure_app.test_client()

    response = submit(client, "https://localhost/login", {"email": account.email, "password": account.password},
                      page="https://localhost/login",
                      headers={"Referer": "https://localhost/login"})  # flask-wtf checks it over https

    assert response.status_code == 302
    flags = [part.strip() for part in session_cookie(response).split(";")]
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(flags)
