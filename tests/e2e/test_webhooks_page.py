"""The webhook pages in a real browser against a real studio (web + worker): add a webhook,
copy its secret (shown once), send a test event that a loopback receiver verifies with the
documented helper, see it delivered in the log, redeliver it (issue 14)."""

from __future__ import annotations

import json
import re
import time

import pytest

from app.webhooks.receiver import start_receiver


@pytest.fixture
def studio_settings() -> dict[str, str]:
    # The receiver listens on loopback, which the SSRF guard refuses unless told otherwise.
    return {"INKWRIGHT_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


def wait_for(condition, page, seconds: float = 20.0) -> None:
    """Reload until ``condition()`` holds: the worker sends in its own time."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not send in time"
        time.sleep(0.3)
        page.reload()


def test_add_a_webhook_send_a_test_event_and_redeliver_it(page, studio_url, sign_up, receiver):
    sign_up("Hook Owner", "hooks@example.com")
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url(f"{studio_url}/webhooks")

    page.get_by_label("Payload URL").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("The loopback receiver")
    page.locator('input[name="events"][value="run.completed"]').check()
    page.get_by_role("button", name="Add webhook").click()
    page.wait_for_url(re.compile(r".*/webhooks/[0-9a-f-]{36}$"))
    hook_url = page.url

    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    page.reload()
    assert page.locator("#webhook-secret").count() == 0, "the secret is shown once"

    page.get_by_role("button", name="Send test event").click()
    page.wait_for_url(hook_url)
    wait_for(lambda: page.locator("#deliveries .status-delivered").count() == 1, page)
    [got] = receiver.received
    assert got.verified, "verify_webhook_signature accepts what the studio's worker sent"
    assert json.loads(got.body)["type"] == "webhook.test"

    page.get_by_role("button", name="Redeliver").first.click()
    page.wait_for_url(hook_url)
    # The counters and the log are read one after the other: wait for both to show it.
    wait_for(lambda: page.locator("#deliveries .status-delivered").count() == 2
             and page.locator("#total-deliveries").inner_text() == "2", page)
    assert len(receiver.received) == 2 and all(r.verified for r in receiver.received)


def test_a_url_pointing_nowhere_useful_is_refused_beside_its_field(page, studio_url, sign_up):
    sign_up("Hook Owner", "hooks-bad@example.com")
    page.goto(f"{studio_url}/webhooks")

    page.get_by_label("Payload URL").fill("ftp://files.example.com/drop")
    page.locator('input[name="events"][value="run.failed"]').check()
    page.get_by_role("button", name="Add webhook").click()

    assert "starts with https://" in page.locator("#url-errors").inner_text()
    assert page.get_by_text("No webhooks yet.").is_visible()
