"""The README's promise, in a real browser: register → sign in → create an API key → use it.

Runs the real ``flask inkwright studio`` process and Debian's headless Chromium.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"
SCREENSHOT = "/tmp/e2e-api-keys.png"


def register(page, studio_url: str, email: str) -> None:
    page.goto(f"{studio_url}/register")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def me(studio_url: str, secret: str) -> requests.Response:
    return requests.get(f"{studio_url}/api/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)


def test_register_sign_in_and_use_an_api_key_made_in_the_browser(page, studio_url):
    register(page, studio_url, "grace@example.com")
    page.wait_for_url(f"{studio_url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Grace Hopper's studio"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{studio_url}/login")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{studio_url}/")

    page.get_by_role("link", name="API keys").click()
    page.wait_for_url(f"{studio_url}/api-keys")
    page.get_by_label("Name").fill("CI pipeline")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-api-key").inner_text().strip()
    assert secret.startswith("iwk_")
    page.screenshot(path=SCREENSHOT, full_page=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=studio_url)
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.reload()  # the page after the redirect: a reload makes no second key, shows no secret
    assert secret not in page.content()
    assert page.locator("#api-keys tbody tr").count() == 1

    answer = me(studio_url, secret)
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["tenant"]["name"] == "Grace Hopper's studio"
    assert data["user"]["email"] == "grace@example.com"
    assert data["via"] == "api_key"

    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"{studio_url}/api-keys")
    assert "is revoked" in page.get_by_role("status").first.inner_text()
    assert page.locator("#api-keys .status").inner_text() == "revoked"

    refused = me(studio_url, secret)
    assert refused.status_code == 401
    assert refused.json()["error"]["details"]["reason"] == "revoked"


def test_register_shows_a_taken_email_beside_the_field(page, studio_url):
    taken = requests.post(f"{studio_url}/api/auth/register",
                          json={"email": "taken@example.com", "password": PASSWORD}, timeout=10)
    assert taken.status_code == 201

    register(page, studio_url, "taken@example.com")

    page.wait_for_load_state()
    assert page.url == f"{studio_url}/register"
    email = page.get_by_label("Email")
    assert email.get_attribute("aria-invalid") == "true"
    assert page.locator("#email-errors").inner_text() == "Already registered."
    assert email.input_value() == "taken@example.com"
