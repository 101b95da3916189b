"""The notifications page and the header's unread count: mark read, mark all, delete, each a
redirect; another person's notification is not found."""

from __future__ import annotations

import re

import pytest

from app.notifications import notify
from app.runtime import repositories


@pytest.fixture
def tell(app):
    def send(account, title: str, kind: str = "comment", **options) -> str:
        with app.app_context():
            repos = repositories()
            with repos.transaction():
                return str(notify(account.user.id, kind, title, **options).id)
    return send


def unread_in_header(page: str) -> int:
    return int(re.search(r'id="notifications-link"[^>]*data-unread="(\d+)"', page).group(1))


def test_the_header_counts_unread_notifications_and_the_page_lists_them(browser, user, tell):
    assert unread_in_header(browser.get("/").get_data(as_text=True)) == 0
    tell(user, "Your review is ready", kind="agent_complete", message="Two issues.", action_url="/runs/abc",
         action_label="Open the review", priority="high")
    tell(user, "<script>alert(1)</script>")

    page = browser.get("/notifications").get_data(as_text=True)
    assert unread_in_header(page) == 2
    assert "Your review is ready" in page and '<a href="/runs/abc">Open the review</a>' in page
    assert '<span class="badge badge-high">high</span>' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.index("&lt;script&gt;") < page.index("Your review is ready")  # newest first


def test_marking_one_read_then_all_lowers_the_count(browser, user, tell, submit):
    first = tell(user, "First")
    tell(user, "Second")
    tell(user, "Third")

    response = submit(browser, f"/notifications/{first}/read", page="/notifications")
    assert response.status_code == 303 and response.headers["Location"] == "/notifications"
    assert unread_in_header(browser.get("/notifications").get_data(as_text=True)) == 2

    response = submit(browser, "/notifications/read-all", page="/notifications", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 notifications marked read." in page and unread_in_header(page) == 0
    assert "Mark all read" not in page


def test_unread_only_and_delete(browser, user, tell, submit):
    kept = tell(user, "Kept")
    gone = tell(user, "Gone")
    submit(browser, f"/notifications/{kept}/read", page="/notifications")

    unread = browser.get("/notifications?show=unread").get_data(as_text=True)
    assert "Gone" in unread and ">Kept" not in unread

    response = submit(browser, f"/notifications/{gone}/delete?show=unread", page="/notifications",
                      follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Notification deleted." in page and "Nothing unread." in page


def test_another_persons_notification_cannot_be_marked_or_deleted(browser, make_user, tell, submit, app):
    theirs = tell(make_user(), "Theirs")

    assert submit(browser, f"/notifications/{theirs}/read", page="/notifications").status_code == 404
    assert submit(browser, f"/notifications/{theirs}/delete", page="/notifications").status_code == 404
    assert submit(browser, "/notifications/not-a-uuid/read", page="/notifications").status_code == 404
    with app.app_context():
        assert repositories().notifications.get(theirs).is_read is False


def test_a_post_without_the_token_changes_nothing(browser, user, tell, app):
    mine = tell(user, "Mine")
    assert browser.post(f"/notifications/{mine}/read").status_code == 400
    with app.app_context():
        assert repositories().notifications.get(mine).is_read is False
