"""A person's notifications through the API: listed newest first, filtered, marked read one by
one or all at once, deleted, mailed by preference, followed live; nobody reads another's."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from app.models import Notification, OutboxMessage
from app.notifications import notify, write_notification
from app.runtime import current_state, repositories


@pytest.fixture
def tell(app):
    """``tell(account, title, **options)``: notify the account as the core would, committed."""
    def send(account, title: str, kind: str = "agent_complete", **options) -> str:
        with app.app_context():
            repos = repositories()
            with repos.transaction():
                row = notify(account.user.id, kind, title, **options)
            return str(row.id)
    return send


def test_notifications_are_listed_newest_first_with_the_unread_count(api_client, user, tell):
    first = tell(user, "Review finished", message="3 issues found", action_url="/runs/x", action_label="Open")
    tell(user, "Credits low", kind="low_credits", priority="high")

    body = api_client.get("/api/notifications").json["data"]
    assert [item["title"] for item in body["items"]] == ["Credits low", "Review finished"]
    assert body["total"] == 2 and body["unread"] == 2
    item = body["items"][1]
    assert item["id"] == first and item["message"] == "3 issues found" and item["actionUrl"] == "/runs/x"
    assert item["priority"] == "normal" and item["isRead"] is False and item["readAt"] is None

    high = api_client.get("/api/notifications?priority=high").json["data"]
    assert [item["title"] for item in high["items"]] == ["Credits low"]


def test_marking_read_lowers_the_unread_count_and_read_all_marks_the_rest(api_client, user, tell):
    first = tell(user, "One")
    tell(user, "Two")
    tell(user, "Three")

    read = api_client.post(f"/api/notifications/{first}/read")
    assert read.status_code == 200 and read.json["data"]["isRead"] is True and read.json["data"]["readAt"]
    again = api_client.post(f"/api/notifications/{first}/read")
    assert again.json["data"]["readAt"] == read.json["data"]["readAt"]  # reading twice changes nothing
    assert api_client.get("/api/notifications").json["data"]["unread"] == 2
    assert [i["title"] for i in api_client.get("/api/notifications?unread=true").json["data"]["items"]] == \
        ["Three", "Two"]

    marked = api_client.post("/api/notifications/read-all").json["data"]
    assert marked == {"marked": 2, "unread": 0}


def test_a_notification_can_be_deleted(api_client, user, tell):
    gone = tell(user, "Delete me")

    deleted = api_client.delete(f"/api/notifications/{gone}")
    assert deleted.status_code == 200 and deleted.json["data"]["title"] == "Delete me"
    assert api_client.get("/api/notifications").json["data"]["total"] == 0
    assert api_client.get(f"/api/notifications/{gone}").status_code == 404


def test_another_persons_notification_is_not_found_to_read_mark_or_delete(api_client, make_user, tell, expect_error,
                                                                          app, login_api):
    stranger = make_user()
    theirs = tell(stranger, "Not yours")

    for response in (api_client.get(f"/api/notifications/{theirs}"),
                     api_client.post(f"/api/notifications/{theirs}/read"),
                     api_client.delete(f"/api/notifications/{theirs}")):
        expect_error(response, 404, "NOT_FOUND")
    assert api_client.get("/api/notifications").json["data"]["total"] == 0
    assert login_api(stranger).get("/api/notifications").json["data"]["items"][0]["isRead"] is False


@pytest.mark.parametrize("query", ["priority=extreme", "unread=maybe", "limit=0", "limit=101", "offset=-1"])
def test_bad_filters_are_refused_in_the_envelope(api_client, expect_error, query):
    expect_error(api_client.get(f"/api/notifications?{query}"), 400, "VALIDATION_ERROR")


def test_expired_notifications_are_not_shown(api_client, user, tell, clock):
    tell(user, "Old news")
    clock.advance(91 * 24 * 3600)

    assert api_client.get("/api/notifications").json["data"] == {"items": [], "total": 0, "unread": 0,
                                                                  "limit": 20, "offset": 0}


def test_mail_goes_by_the_persons_preferences(app, user, tell, row_count):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            person = repos.users.get(user.user.id)
            person.preferences = {"notifications": {"email_on_agent_complete": False, "email_on_comment": True}}
    tell(user, "Finished", kind="agent_complete")
    tell(user, "A comment on chapter 2", kind="comment", message="Nice turn.")
    tell(user, "Credits low", kind="low_credits")  # mailed by default

    with app.app_context():
        subjects = [m.subject for m in repositories().outbox.list(OutboxMessage.to_address == user.email.lower())
                    if m.kind.startswith("notification.")]
    assert sorted(subjects) == ["A comment on chapter 2", "Credits low"]


def test_a_rolled_back_change_tells_nobody(app, user):
    with app.app_context():
        repos = repositories()
        with pytest.raises(RuntimeError):
            with repos.transaction():
                write_notification(repos, current_state().clock.now(), user.user.id, "comment", "Never")
                raise RuntimeError("the change failed")
        assert repositories().notifications.count(Notification.user_id == user.user.id) == 0


@pytest.mark.parametrize("options, field", [({"kind": "Bad Type"}, "type"), ({"priority": "extreme"}, "priority"),
                                            ({"action_url": "javascript:alert(1)"}, "action_url")])
def test_malformed_notifications_are_refused(app, user, options, field):
    from app.errors import ValidationError
    with app.app_context():
        repos = repositories()
        kind = options.pop("kind", "comment")
        with pytest.raises(ValidationError) as refused:
            with repos.transaction():
                notify(user.user.id, kind, "Title", **options)
        assert field in refused.value.details["fields"]
        assert repositories().notifications.count(Notification.user_id == user.user.id) == 0


def test_a_new_notification_arrives_on_the_live_stream_with_the_unread_count(api_client, user, tell, app):
    tell(user, "Before the page opened")
    received: list[str] = []
    opened = threading.Event()

    def follow() -> None:
        response = api_client.get("/api/notifications/events?keepalive=1", buffered=False)
        opened.set()
        for chunk in response.response:
            received.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if "event: notification" in "".join(received):
                break
        response.close()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert opened.wait(10)
    tell(user, "Arrived live", kind="comment")
    reader.join(15)

    text = "".join(received)
    assert "Before the page opened" not in text  # the stream starts at the page's moment
    data = json.loads(text.split("event: notification\ndata: ", 1)[1].split("\n", 1)[0])
    assert data["title"] == "Arrived live" and data["type"] == "comment" and data["unread"] == 2
    uuid.UUID(data["id"])


def test_a_bad_last_event_id_is_refused(api_client, expect_error):
    response = api_client.get("/api/notifications/events", headers={"Last-Event-ID": "'; DROP"})
    expect_error(response, 400, "VALIDATION_ERROR")
