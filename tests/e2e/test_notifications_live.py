"""A notification appears live in a signed-in browser, and the unread count falls when it is
read (issue 14). A real studio, a real Redis between it and the process that notifies, and
Debian's headless Chromium."""

from __future__ import annotations

import pytest

from app import create_app
from app.notifications import notify
from app.pytest_plugin import base_test_config
from app.runtime import repositories

pytestmark = pytest.mark.browser


def test_a_notification_arrives_live_and_reading_it_lowers_the_count(page, studio_url, sign_up, fresh_database_url,
                                                                    inkwright_redis_url, tmp_path):
    sign_up("Live Reader", "live@example.com")
    page.goto(f"{studio_url}/notifications")
    link = page.locator("#notifications-link")
    assert link.get_attribute("data-unread") == "0"
    assert page.locator("#notifications-link .unread-count").is_hidden()

    # Another process of the same installation (a worker finishing a review, say) notifies.
    worker_app = create_app({**base_test_config(fresh_database_url, inkwright_redis_url)},
                            instance_path=str(tmp_path / "worker-instance"))
    with worker_app.app_context():
        repos = repositories()
        person = repos.users.find_by_email("live@example.com")
        with repos.transaction():
            notify(person.id, "agent_complete", "Your <b>review</b> is ready", priority="high")

    # A function, not an expression: Playwright evals an expression's source in the page, which the
    # studio's CSP refuses as soon as the first check is false and it has to poll.
    page.wait_for_function("() => document.getElementById('notifications-link').dataset.unread === '1'",
                           timeout=15_000)
    assert page.locator("#notifications-link .unread-count").inner_text() == "1"
    item = page.locator("#notification-list li.notification").first
    assert item.locator(".notification-title").inner_text() == "new Your <b>review</b> is ready"  # as text
    assert page.locator("#notification-list b").count() == 0

    page.reload()
    page.get_by_role("button", name="Mark read").click()
    page.wait_for_url(f"{studio_url}/notifications")
    assert page.locator("#notifications-link").get_attribute("data-unread") == "0"
    assert page.locator("#notifications-link .unread-count").is_hidden()
