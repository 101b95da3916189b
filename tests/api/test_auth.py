"""Seed 000's JSON auth routes: register, login, logout, refresh (app/api/auth.py, app/auth/)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from app.auth.tokens import hash_secret
from app.extensions import db
from app.models import AuthSession, User, utcnow

PASSWORD = "long enough password"

USER_KEYS = {"id", "email", "name", "avatar", "emailVerified", "createdAt", "lastLoginAt"}
SESSION_KEYS = {"userId", "tenantId", "token", "expiresAt", "refreshToken", "refreshExpiresAt"}


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def register(client, email="ada@example.com", password=PASSWORD, **extra):
    return client.post("/api/auth/register", json={"email": email, "password": password, **extra})


def bearer_get(client, path, token):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


# Registration ---------------------------------------------------------------------

def test_register_answers_201_with_seed_000_auth_response(client, app):
    response = register(client, email="Ada@Example.com", name="Ada")

    assert response.status_code == 201
    data = response.json["data"]
    assert set(data) == {"user", "session", "permissions"}
    assert set(data["user"]) == USER_KEYS
    assert set(data["session"]) == SESSION_KEYS
    assert data["user"]["email"] == "ada@example.com"
    assert data["user"]["name"] == "Ada"
    assert data["user"]["emailVerified"] is False
    assert data["session"]["userId"] == data["user"]["id"]
    expires_in = parse_time(data["session"]["expiresAt"]) - utcnow()
    assert timedelta(seconds=0) < expires_in <= timedelta(seconds=app.config["ACCESS_TOKEN_TTL"])
    assert parse_time(data["session"]["refreshExpiresAt"]) > parse_time(data["session"]["expiresAt"])
    permissions = {p["resource"]: p["actions"] for p in data["permissions"]}
    assert set(permissions["members"]) == {"read", "invite", "update", "remove"}
    assert all(set(p) == {"resource", "actions"} for p in data["permissions"])


def test_registration_creates_a_personal_tenant_owned_by_the_new_user(client):
    session = register(client).json["data"]["session"]

    me = bearer_get(client, "/api/me", session["token"]).json["data"]

    assert me["tenant"]["id"] == session["tenantId"]
    assert me["tenant"]["kind"] == "personal"
    assert me["role"] == "owner"


def test_tokens_are_stored_only_as_hashes(client, app):
    session = register(client).json["data"]["session"]

    with app.app_context():
        row = db.session.execute(select(AuthSession.__table__)).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    assert session["token"] not in stored and session["refreshToken"] not in stored
    assert row["access_token_hash"] == hash_secret(session["token"])


def test_duplicate_email_is_409_conflict_and_adds_no_user(client, app, expect_error, row_counts):
    register(client)
    before = row_counts()

    error = expect_error(register(client, email="ADA@example.com"), 409, "CONFLICT")

    assert "email" in error["details"]["fields"]
    assert row_counts() == before
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1


def test_weak_password_is_400_with_the_password_field_and_writes_nothing(client, expect_error, row_counts):
    before = row_counts()

    error = expect_error(register(client, password="short"), 400, "VALIDATION_ERROR")

    assert "password" in error["details"]["fields"]
    assert row_counts() == before


def test_registration_closed_is_403(make_app, expect_error, row_counts):
    closed = make_app(PUBLIC_REGISTRATION=False)
    before = row_counts()

    expect_error(register(closed.test_client()), 403, "FORBIDDEN")

    assert row_counts() == before


def test_the_11th_registration_from_one_address_within_a_minute_is_429(client, expect_error, row_counts):
    for n in range(10):  # the default allowance, 10/minute
        assert register(client, email=f"writer{n}@example.com").status_code == 201
    before = row_counts()

    refused = register(client, email="writer10@example.com")

    error = expect_error(refused, 429, "RATE_LIMITED")
    assert error["retryable"] is True and "Too many registrations" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert row_counts() == before
    # Counted apart from sign-in: the same address may still sign in, and another may register.
    signed_in = client.post("/api/auth/login", json={"email": "writer0@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200
    elsewhere = client.post("/api/auth/register", json={"email": "writer10@example.com", "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 201


def test_registration_is_rate_limited_per_email_whatever_the_address(make_app, expect_error):
    client = make_app(LOGIN_RATE_LIMIT="3/minute").test_client()

    def attempt(n: int):
        return client.post("/api/auth/register", json={"email": "Ada@example.com", "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": f"203.0.113.{n}"})

    assert [attempt(n).status_code for n in range(3)] == [201, 409, 409]
    expect_error(attempt(3), 429, "RATE_LIMITED")


# Login ---------------------------------------------------------------------------

def test_login_returns_auth_response_and_records_the_login(client, user, app_repos):
    response = client.post("/api/auth/login", json={"email": user.email, "password": user.password})

    assert response.status_code == 200
    data = response.json["data"]
    assert set(data["session"]) == SESSION_KEYS
    assert data["user"]["id"] == str(user.user.id)
    assert data["session"]["tenantId"] == str(user.tenant_id)
    assert bearer_get(client, "/api/me", data["session"]["token"]).status_code == 200
    with app_repos() as repos:
        assert utcnow() - repos.users.require(user.user.id).last_login_at < timedelta(seconds=30)


def test_unknown_email_and_wrong_password_get_the_same_401(client, user, expect_error):
    wrong_password = client.post("/api/auth/login", json={"email": user.email, "password": "not the password"})
    unknown_email = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": user.password})

    first = expect_error(wrong_password, 401, "UNAUTHORIZED")
    second = expect_error(unknown_email, 401, "UNAUTHORIZED")
    assert first == second


def test_login_is_rate_limited_with_retry_after(make_app, expect_error):
    limited = make_app(LOGIN_RATE_LIMIT="3/minute")
    client = limited.test_client()
    register(client)
    attempt = {"email": "ada@example.com", "password": "not the password"}

    for _ in range(3):
        expect_error(client.post("/api/auth/login", json=attempt), 401, "UNAUTHORIZED")
    refused = client.post("/api/auth/login", json={**attempt, "password": PASSWORD})

    error = expect_error(refused, 429, "RATE_LIMITED")
    assert error["retryable"] is True
    assert 0 < int(refused.headers["Retry-After"]) <= 60


# Logout and refresh --------------------------------------------------------------

def test_logout_revokes_the_session(client, expect_error):
    session = register(client).json["data"]["session"]
    headers = {"Authorization": f"Bearer {session['token']}"}

    assert client.post("/api/auth/logout", headers=headers).json["data"] == {"success": True}

    error = expect_error(bearer_get(client, "/api/me", session["token"]), 401, "UNAUTHORIZED")
    assert error["details"]["reason"] == "revoked"
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    expect_error(refreshed, 401, "UNAUTHORIZED")


def test_logout_with_an_api_key_is_refused(api_client, create_key, bearer, expect_error):
    secret = create_key(api_client)["secret"]

    error = expect_error(bearer(secret).post("/api/auth/logout"), 401, "UNAUTHORIZED")

    assert error["details"]["reason"] == "not_a_session"
    assert bearer(secret).get("/api/me").status_code == 200


def test_refresh_rotates_both_tokens(client, expect_error):
    old = register(client).json["data"]["session"]

    response = client.post("/api/auth/refresh", json={"refreshToken": old["refreshToken"]})

    assert response.status_code == 200
    new = response.json["data"]
    assert set(new) == SESSION_KEYS
    assert new["token"] != old["token"] and new["refreshToken"] != old["refreshToken"]
    assert bearer_get(client, "/api/me", new["token"]).status_code == 200
    error = expect_error(bearer_get(client, "/api/me", old["token"]), 401, "UNAUTHORIZED")
    assert error["details"]["reason"] == "revoked"
    again = client.post("/api/auth/refresh", json={"refreshToken": new["refreshToken"]})
    assert again.status_code == 200


def test_replaying_a_rotated_refresh_token_revokes_the_whole_family(client, expect_error):
    first = register(client).json["data"]["session"]
    second = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]}).json["data"]
    newest = client.post("/api/auth/refresh", json={"refreshToken": second["refreshToken"]}).json["data"]

    replay = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})

    assert expect_error(replay, 401, "UNAUTHORIZED")["details"]["reason"] == "token_reused"
    error = expect_error(bearer_get(client, "/api/me", newest["token"]), 401, "UNAUTHORIZED")
    assert error["details"]["reason"] == "revoked"
    expect_error(client.post("/api/auth/refresh", json={"refreshToken": newest["refreshToken"]}),
                 401, "UNAUTHORIZED")


def test_unknown_refresh_token_is_401(client, expect_error):
    response = client.post("/api/auth/refresh", json={"refreshToken": "iwr_not-a-real-token"})

    assert expect_error(response, 401, "UNAUTHORIZED")["details"]["reason"] == "invalid_token"


def test_expired_access_token_is_401_expired_and_refresh_still_works(make_app, app_repos, expect_error):
    short = make_app(ACCESS_TOKEN_TTL=30)
    client = short.test_client()
    session = register(client).json["data"]["session"]
    with app_repos(short) as repos:
        row = repos.auth_sessions.find_by_access_hash(hash_secret(session["token"]))
        with repos.transaction():
            row.access_expires_at = utcnow() - timedelta(seconds=1)

    error = expect_error(bearer_get(client, "/api/me", session["token"]), 401, "UNAUTHORIZED")

    assert error["details"]["reason"] == "expired"
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert bearer_get(client, "/api/me", refreshed.json["data"]["token"]).status_code == 200


def test_malformed_authorization_header_is_401(client, expect_error):
    response = client.get("/api/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    error = expect_error(response, 401, "UNAUTHORIZED")
    assert error["details"]["reason"] == "malformed_header"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_protected_endpoint_without_credentials_is_401(client, expect_error):
    expect_error(client.get("/api/me"), 401, "UNAUTHORIZED")


# Password reset ------------------------------------------------------------------

RESET_LINK = re.compile(r"(\S+)/reset-password/(iwp_\S+)")


def request_reset(client, email, **kwargs):
    return client.post("/api/auth/password-reset", json={"email": email}, **kwargs)


def confirm_reset(client, token, password):
    return client.post("/api/auth/password-reset/confirm", json={"token": token, "password": password})


def mailed_reset_token(app_repos, email, application=None) -> tuple[str, str]:
    """The link base and token of the newest reset mail to ``email``."""
    with app_repos(application) as repos:
        message = repos.outbox.latest_to(email, "password_reset")
        assert message is not None, "no reset mail was written"
        found = RESET_LINK.search(message.body)
    assert found, message.body
    return found.group(1), found.group(2)


def test_reset_request_mails_a_link_built_from_external_url(make_app, app_repos):
    studio = make_app(EXTERNAL_URL="https://studio.example.org/")
    client = studio.test_client()
    register(client)

    # A forged Host header must not end up in the link someone receives.
    response = request_reset(client, "ADA@example.com", headers={"Host": "attacker.example"})

    assert response.status_code == 202
    assert response.json["data"] == {"success": True}
    base, token = mailed_reset_token(app_repos, "ada@example.com", studio)
    assert base == "https://studio.example.org"
    assert token.startswith("iwp_")


def test_reset_for_unknown_email_answers_the_same_and_mails_nothing(client, user, row_counts):
    known = request_reset(client, user.email)
    before = row_counts()

    unknown = request_reset(client, "nobody@example.com")

    assert unknown.status_code == known.status_code == 202
    assert unknown.json["data"] == known.json["data"]
    assert row_counts() == before


def test_reset_confirm_sets_the_password_and_revokes_api_sessions(client, user, login_api, app_repos,
                                                                  expect_error):
    signed_in = login_api(user)
    request_reset(client, user.email)
    _base, token = mailed_reset_token(app_repos, user.email)

    response = confirm_reset(client, token, "a brand new password")

    assert response.status_code == 200
    assert expect_error(signed_in.get("/api/me"), 401, "UNAUTHORIZED")["details"]["reason"] == "revoked"
    old = client.post("/api/auth/login", json={"email": user.email, "password": user.password})
    expect_error(old, 401, "UNAUTHORIZED")
    new = client.post("/api/auth/login", json={"email": user.email, "password": "a brand new password"})
    assert new.status_code == 200


def test_reset_token_works_once(client, user, app_repos, expect_error):
    request_reset(client, user.email)
    _base, token = mailed_reset_token(app_repos, user.email)
    first = confirm_reset(client, token, "a brand new password")
    assert first.status_code == 200

    second = confirm_reset(client, token, "another new password")

    assert "token" in expect_error(second, 400, "VALIDATION_ERROR")["details"]["fields"]
    login = client.post("/api/auth/login", json={"email": user.email, "password": "a brand new password"})
    assert login.status_code == 200


def test_only_the_newest_reset_link_works(client, user, app_repos, expect_error):
    request_reset(client, user.email)
    _base, older = mailed_reset_token(app_repos, user.email)
    request_reset(client, user.email)
    _base, newer = mailed_reset_token(app_repos, user.email)

    stale = confirm_reset(client, older, "a brand new password")

    expect_error(stale, 400, "VALIDATION_ERROR")
    fresh = confirm_reset(client, newer, "a brand new password")
    assert fresh.status_code == 200


def test_reset_with_a_weak_password_keeps_the_token_and_the_old_password(client, user, app_repos, expect_error):
    request_reset(client, user.email)
    _base, token = mailed_reset_token(app_repos, user.email)

    weak = confirm_reset(client, token, "short")

    assert "password" in expect_error(weak, 400, "VALIDATION_ERROR")["details"]["fields"]
    assert client.post("/api/auth/login", json={"email": user.email, "password": user.password}).status_code == 200
    retry = confirm_reset(client, token, "a brand new password")
    assert retry.status_code == 200


def test_reset_confirm_is_rate_limited_per_address_with_retry_after(make_app, app_repos, expect_error):
    studio = make_app(LOGIN_RATE_LIMIT="3/minute")
    client = studio.test_client()
    register(client)
    request_reset(client, "ada@example.com")
    _base, token = mailed_reset_token(app_repos, "ada@example.com", studio)
    for n in range(3):  # guesses at a link
        expect_error(confirm_reset(client, f"iwp_guess{n}", "a brand new password"), 400, "VALIDATION_ERROR")

    refused = confirm_reset(client, token, "a brand new password")  # even the real link, from here

    error = expect_error(refused, 429, "RATE_LIMITED")
    assert "Too many password-reset attempts" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    elsewhere = client.post("/api/auth/password-reset/confirm",
                            json={"token": token, "password": "a brand new password"},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 200
