"""The studio's webhook pages (app/web/webhooks.py): add one and see its secret once, send a
test event, read the log, redeliver, switch off and on, delete — with bad input shown
beside its field, and other tenants' webhooks and members' attempts refused."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.models import Role, Webhook, WebhookDelivery
from app.webhooks.receiver import Answer, start_receiver

SECRET = re.compile(r'<code id="webhook-secret" class="secret-value">(whsec_[^<]+)</code>')


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


def add_webhook(browser, submit, url, events=("run.completed",)):
    """Add a webhook through the form; returns its page's path (where the redirect leads)."""
    response = submit(browser, "/webhooks", {"url": url, "events": list(events), "is_active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return urlsplit(response.headers["Location"]).path


def test_a_new_webhook_shows_its_secret_once_after_the_redirect(browser, submit, receiver, row_count):
    location = add_webhook(browser, submit, receiver.url, ["run.completed", "run.failed"])

    page = browser.get(location).get_data(as_text=True)
    [secret] = SECRET.findall(page)
    assert receiver.url in page and "run.failed" in page
    again = browser.get(location).get_data(as_text=True)
    assert secret not in again, "a reload shows the secret no more"
    listed = browser.get("/webhooks").get_data(as_text=True)
    assert receiver.url in listed and 'class="cards-narrow"' in listed and secret not in listed
    assert row_count(Webhook) == 1


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"url": "ftp://example.com/x", "events": ["run.completed"]}, "url", "starts with https://"),
    ({"url": "", "events": ["run.completed"]}, "url", "Enter the URL"),
    ({"url": "https://hooks.example.com/x"}, "events", "Choose at least one event"),
    ({"url": "https://hooks.example.com/x", "events": ["run.complete"]}, "events", "is not a valid choice"),
], ids=["ftp", "empty-url", "no-events", "unknown-event"])
def test_a_refused_webhook_is_shown_with_its_errors_and_stores_nothing(browser, submit, row_count, data, field,
                                                                       message):
    response = submit(browser, "/webhooks", data)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    errors = re.search(rf'id="{field}-errors"[^>]*>(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1), page
    assert row_count(Webhook) == 0


def test_send_test_event_then_redeliver_from_the_log(browser, submit, receiver, run_jobs, row_count):
    hook_path = add_webhook(browser, submit, receiver.url)

    sent = submit(browser, f"{hook_path}/test", page=hook_path)
    assert sent.status_code == 303
    run_jobs()
    page = browser.get(hook_path).get_data(as_text=True)
    assert "webhook.test" in page and "status-delivered" in page and "Redeliver" in page
    [delivery_id] = re.findall(r'action="/webhook-deliveries/([0-9a-f-]+)/redeliver"', page)

    again = submit(browser, f"/webhook-deliveries/{delivery_id}/redeliver", page=hook_path)
    assert again.status_code == 303 and again.headers["Location"].endswith(hook_path)
    run_jobs()

    assert len(receiver.received) == 2 and row_count(WebhookDelivery) == 2


def test_switching_off_and_on_and_deleting(browser, submit, receiver, row_count, app):
    hook_path = add_webhook(browser, submit, receiver.url)

    submit(browser, f"{hook_path}/switch", page=hook_path)
    assert "Switch on again" in browser.get(hook_path).get_data(as_text=True)
    submit(browser, f"{hook_path}/switch", page=hook_path)
    assert "Switch off" in browser.get(hook_path).get_data(as_text=True)

    deleted = submit(browser, f"{hook_path}/delete", page=hook_path)
    assert deleted.status_code == 303 and deleted.headers["Location"].endswith("/webhooks")
    assert row_count(Webhook) == 0


def test_editing_with_a_bad_url_shows_the_error_and_changes_nothing(browser, submit, receiver, app):
    hook_path = add_webhook(browser, submit, receiver.url)

    response = submit(browser, f"{hook_path}/edit", {"url": "javascript:alert(1)", "events": ["run.completed"],
                                                    "is_active": "y"}, page=hook_path)

    assert response.status_code == 400
    assert "starts with https://" in response.get_data(as_text=True)
    assert receiver.url in browser.get(hook_path).get_data(as_text=True)


def test_a_receiver_failing_shows_in_the_log(browser, submit, receiver, run_jobs):
    receiver.answer(Answer(status=500, body=b"<script>alert(1)</script>"))
    hook_path = add_webhook(browser, submit, receiver.url)
    submit(browser, f"{hook_path}/test", page=hook_path)
    run_jobs()

    page = browser.get(hook_path).get_data(as_text=True)
    assert "the receiver answered 500" in page and "next try" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_another_tenants_webhook_is_404(browser, submit, receiver, make_user, client, sign_in, app):
    hook_path = add_webhook(browser, submit, receiver.url)
    other = app.test_client()
    sign_in(other, make_user())

    assert other.get(hook_path).status_code == 404
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', other.get("/webhooks").get_data(as_text=True))
    for action in ("test", "switch", "delete"):
        assert other.post(f"{hook_path}/{action}", data={"csrf_token": token.group(1)}).status_code == 404
    assert receiver.url not in other.get("/webhooks").get_data(as_text=True)


def test_members_are_refused_and_see_no_link(user, make_user, add_member, client, sign_in, submit):
    member = make_user()
    add_member(user.tenant_id, member, Role.MEMBER)
    as_member = sign_in(client, member)
    submit(as_member, f"/tenants/{user.tenant_id}/switch", page="/")

    assert as_member.get("/webhooks").status_code == 403
    assert 'href="/webhooks"' not in as_member.get("/").get_data(as_text=True)


def test_owners_find_the_page_in_the_navigation(browser):
    assert 'href="/webhooks"' in browser.get("/").get_data(as_text=True)
