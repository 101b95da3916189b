"""Schemathesis hooks for the fuzz gate (``.ci/fuzz``), loaded through SCHEMATHESIS_HOOKS.

The fuzzer acts with a tenant API key (an owner's, so it reaches every tenant route). It is
free to revoke that key: ``DELETE /api/api-keys/{key_id}`` is one of the operations it
tests, and the stateful phase finds the key's id in ``GET /api/api-keys``. So the key is not
fixed on the command line: this provider hands one out, and when the studio answers 401
(schemathesis then drops the cached credential, asks again and replays the request) it
checks whether the key still works and mints a new one if it does not.

Keys are minted with the account's session access token. A session can only be ended with
its own token (``POST /api/auth/logout``), which the fuzzer is never given for that route, so
it cannot revoke it. The person routes (``/api/account/*`` and ``POST /api/tenants``) refuse
API keys by design (a key acts for a tenant, not a person): they get that session token, so
they are fuzzed as well. Signing in again is the last resort only, because sign-in is
rate-limited per client address and the fuzzer's own ``/api/auth/login`` attempts come from
the same address.

This file runs inside schemathesis' own virtualenv: it uses only the standard library and
``requests`` (a schemathesis dependency), never the app.
"""

from __future__ import annotations

import os
import threading

import requests
import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"].rstrip("/")
EMAIL = os.environ["FUZZ_EMAIL"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
TIMEOUT = 10
#: Where re-mints are noted, for the gate's summary (schemathesis owns the terminal).
NOTES = os.environ.get("FUZZ_HOOKS_LOG")


def _note(line: str) -> None:
    if NOTES:
        with open(NOTES, "a") as notes:
            notes.write(line + "\n")


class _Account:
    """The fuzz account's session and its current API key, shared by the fuzzer's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.key: str | None = None
        self.minted = 0

    def _post(self, path: str, body: dict, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(BASE_URL + path, json=body, headers=headers, timeout=TIMEOUT)

    def _works(self, token: str | None) -> bool:
        if not token:
            return False
        response = requests.get(BASE_URL + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
        return response.status_code == 200

    def _take_session(self, response: requests.Response) -> None:
        session = response.json()["data"]
        session = session.get("session", session)  # register/login wrap it; refresh does not
        self.access_token, self.refresh_token = session["token"], session["refreshToken"]

    def _ensure_session(self) -> None:
        if self._works(self.access_token):
            return
        if self.refresh_token:
            response = self._post("/api/auth/refresh", {"refreshToken": self.refresh_token})
            if response.status_code == 200:
                self._take_session(response)
                return
        response = self._post("/api/auth/login", {"email": EMAIL, "password": PASSWORD})
        if response.status_code != 200:
            raise RuntimeError(f"fuzz account cannot sign in: {response.status_code} {response.text[:300]}")
        self._take_session(response)

    def api_key(self) -> str:
        """The current key if it still works, otherwise a freshly minted owner key."""
        with self.lock:
            if self._works(self.key):
                return self.key
            self._ensure_session()
            response = self._post("/api/api-keys", {"name": f"fuzz-{self.minted}", "role": "owner"},
                                  self.access_token)
            if response.status_code != 201:
                raise RuntimeError(f"cannot mint an API key: {response.status_code} {response.text[:300]}")
            self.key = response.json()["data"]["secret"]
            self.minted += 1
            _note(f"minted API key {self.minted}")
            return self.key

    def session_token(self) -> str:
        """The account's session access token, refreshed when it stops working."""
        with self.lock:
            self._ensure_session()
            return self.access_token


ACCOUNT = _Account()


def _is_person_route(operation) -> bool:
    return operation.path.startswith("/api/account/") or (operation.path, operation.method.upper()) == (
        "/api/tenants", "POST")


@schemathesis.auth(refresh_interval=60, cache_by_key=lambda case, context: "person" if _is_person_route(context.operation) else "tenant")
class ReMintedApiKey:
    """Bearer API key for tenant routes, the session for person routes; after a 401
    schemathesis asks again, and a revoked key is replaced by a new one."""

    def get(self, case, context):
        return ACCOUNT.session_token() if _is_person_route(context.operation) else ACCOUNT.api_key()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
