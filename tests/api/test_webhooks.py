"""Outbound webhooks over JSON (app/api/webhooks.py), delivered for real to loopback receivers.

"Done when" of issue 14: a run completing sends a signed webhook that the receiver verifies
with the documented helper; a receiver failing 10 times in a row disables the webhook and
tells its owner. Bad input — URLs that are not http(s) or point inside, unknown event
types, another tenant's webhook — gets its envelope error and changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import pytest

from app.events import DomainEvent
from app.models import Notification, Webhook, WebhookDelivery
from app.pytest_plugin import ApiClient
from app.toolkit import verify_webhook_signature
from app.webhooks import jobs
from app.webhooks.receiver import Answer, start_receiver
from app.webhooks.service import webhook_runtime
from app.workers import build_worker

TINY = """\
name: tiny
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: only
    skill: test.echo
    with: {text: "About {{ inputs.topic }}"}
"""


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


def create(client, url, events=("run.completed",), **fields):
    response = client.post("/api/webhooks", json={"url": url, "events": list(events), **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["data"]


def deliveries(client, webhook_id):
    response = client.get(f"/api/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.json
    return response.json["data"]["items"]


def test_a_completed_run_is_posted_signed_and_the_receiver_verifies_it(api_client, receiver, upload_workflow,
                                                                       start_run, run_jobs, user, assert_documented):
    hook = create(api_client, receiver.url, ["run.completed", "run.failed"], description="CI")
    receiver.secret = hook["secret"]
    upload_workflow(api_client, TINY)

    run = start_run(api_client, "tiny", {"topic": "otters"})
    run_jobs()

    [got] = receiver.received
    assert got.verified, "verify_webhook_signature accepts what Inkwright sent"
    assert verify_webhook_signature(got.body, got.headers["Inkwright-Signature"], hook["secret"])
    body = json.loads(got.body)
    assert body["type"] == "run.completed" and body["version"] == 1
    assert body["tenant_id"] == str(user.tenant_id) and body["data"]["runId"] == run["id"]
    assert set(body) == {"id", "type", "version", "created_at", "tenant_id", "data"}
    assert datetime.fromisoformat(body["created_at"])
    assert got.event_type == "run.completed"
    [delivery] = deliveries(api_client, hook["id"])
    assert got.delivery_id == delivery["id"]
    assert (delivery["status"], delivery["statusCode"], delivery["attemptNumber"]) == ("delivered", 200, 1)
    assert delivery["eventPayload"] == body and delivery["responseBody"] == "ok"
    assert delivery["eventId"] == body["id"]
    shown = api_client.get(f"/api/webhooks/{hook['id']}")
    assert_documented(shown, "GET", "/api/webhooks/{webhook_id}")
    assert shown.json["data"]["totalDeliveries"] == 1 and shown.json["data"]["lastStatusCode"] == 200
    assert "secret" not in shown.json["data"] and "encryptedSecret" not in shown.json["data"]


def test_the_secret_is_shown_once_and_stored_encrypted(api_client, receiver, app_repos, assert_documented):
    response = api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"]})
    assert_documented(response, "POST", "/api/webhooks")
    secret = response.json["data"]["secret"]

    with app_repos() as repos:
        [row] = repos.session.query(Webhook).all()
        assert secret not in row.encrypted_secret and row.encrypted_secret.startswith("gAAAA")  # Fernet
    listed = api_client.get("/api/webhooks")
    assert_documented(listed, "GET", "/api/webhooks")
    assert secret not in listed.get_data(as_text=True)


def test_a_receiver_failing_ten_times_disables_the_webhook_and_notifies_the_owner(api_client, receiver, run_jobs,
                                                                                   user, row_count, app_repos):
    receiver.answer(Answer(status=500, body=b"down"))
    hook = create(api_client, receiver.url)

    for _ in range(10):
        assert api_client.post(f"/api/webhooks/{hook['id']}/test").status_code == 202
        run_jobs()

    shown = api_client.get(f"/api/webhooks/{hook['id']}").json["data"]
    assert shown["isActive"] is False and shown["disabledAt"] is not None
    assert (shown["consecutiveFailures"], shown["failedDeliveries"], shown["totalDeliveries"]) == (10, 10, 10)
    assert len(receiver.received) == 10
    with app_repos() as repos:
        [notice] = repos.session.query(Notification).filter_by(user_id=user.user.id, type="webhook_disabled").all()
        assert notice.related_entity_id == hook["id"] and notice.action_url == f"/webhooks/{hook['id']}"
        assert notice.priority.value == "high"
    # Nothing is left to retry: every pending delivery of a disabled webhook ended.
    assert {d["status"] for d in deliveries(api_client, hook["id"])} == {"failed"}
    assert row_count(Notification) == 1


def test_a_disabled_webhook_hears_no_more_events_until_switched_on(api_client, receiver, upload_workflow,
                                                                  start_run, run_jobs):
    hook = create(api_client, receiver.url)
    upload_workflow(api_client, TINY)
    off = api_client.patch(f"/api/webhooks/{hook['id']}", json={"isActive": False}).json["data"]
    assert off["isActive"] is False and off["disabledAt"]

    start_run(api_client, "tiny", {"topic": "otters"})
    run_jobs()
    assert receiver.received == []

    on = api_client.patch(f"/api/webhooks/{hook['id']}", json={"isActive": True}).json["data"]
    assert on["isActive"] is True and on["disabledAt"] is None and on["consecutiveFailures"] == 0
    start_run(api_client, "tiny", {"topic": "badgers"})
    run_jobs()
    assert len(receiver.received) == 1


def test_a_failed_attempt_is_retried_with_backoff_on_the_apps_clock(api_client, receiver, run_jobs, clock):
    receiver.answer(Answer(status=503), Answer(status=200))
    hook = create(api_client, receiver.url)

    delivery = api_client.post(f"/api/webhooks/{hook['id']}/test").json["data"]
    run_jobs()
    [pending] = deliveries(api_client, hook["id"])
    assert (pending["status"], pending["statusCode"], pending["attemptNumber"]) == ("pending", 503, 2)
    due = datetime.fromisoformat(pending["nextRetryAt"])
    wait = (due - clock.now()).total_seconds()
    assert 64 <= wait <= 96

    run_jobs(scheduled=True)  # too early: the worker puts it back
    assert len(receiver.received) == 1
    clock.advance(wait + 1)
    run_jobs(scheduled=True)

    [done] = deliveries(api_client, hook["id"])
    assert done["id"] == delivery["id"] and (done["status"], done["attemptNumber"]) == ("delivered", 2)
    assert [r.delivery_id for r in receiver.received] == [delivery["id"]] * 2, "the same id on a retry"
    assert api_client.get(f"/api/webhooks/{hook['id']}").json["data"]["consecutiveFailures"] == 0


def test_a_delivery_ends_failed_after_eight_attempts(api_client, receiver, run_jobs, clock):
    receiver.answer(Answer(status=500))
    hook = create(api_client, receiver.url)
    api_client.post(f"/api/webhooks/{hook['id']}/test")

    run_jobs()
    for _ in range(7):
        clock.advance(24 * 3600)
        run_jobs(scheduled=True)

    [ended] = deliveries(api_client, hook["id"])
    assert (ended["status"], ended["attemptNumber"], ended["nextRetryAt"]) == ("failed", 8, None)
    assert len(receiver.received) == 8
    shown = api_client.get(f"/api/webhooks/{hook['id']}").json["data"]
    assert shown["isActive"] is True and shown["consecutiveFailures"] == 8


def test_redeliver_sends_an_ended_delivery_again_as_a_new_one(api_client, receiver, run_jobs, expect_error,
                                                              assert_documented):
    hook = create(api_client, receiver.url)
    first = api_client.post(f"/api/webhooks/{hook['id']}/test")
    assert_documented(first, "POST", "/api/webhooks/{webhook_id}/test")
    pending_redeliver = api_client.post(f"/api/webhook-deliveries/{first.json['data']['id']}/redeliver")
    expect_error(pending_redeliver, 409, "CONFLICT")
    run_jobs()

    again = api_client.post(f"/api/webhook-deliveries/{first.json['data']['id']}/redeliver")
    assert_documented(again, "POST", "/api/webhook-deliveries/{delivery_id}/redeliver")
    assert again.status_code == 202 and again.json["data"]["redeliveryOfId"] == first.json["data"]["id"]
    run_jobs()

    assert len(receiver.received) == 2
    bodies = [json.loads(r.body) for r in receiver.received]
    assert bodies[0]["id"] == bodies[1]["id"], "the event's own id is kept"
    assert receiver.received[0].delivery_id != receiver.received[1].delivery_id
    log = api_client.get(f"/api/webhooks/{hook['id']}/deliveries")
    assert_documented(log, "GET", "/api/webhooks/{webhook_id}/deliveries")
    assert log.json["data"]["total"] == 2


def test_the_event_types_are_the_catalog(api_client):
    names = {t["name"] for t in api_client.get("/api/webhooks/event-types").json["data"]}
    assert {"run.completed", "run.failed", "run.cancelled", "api_key.created"} <= names


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "https://user:pw@example.com/"}, "url"),
    ({"url": "   "}, "url"),
    ({"events": ["run.complete"]}, "events"),
    ({"events": []}, "events"),
    ({"events": "run.completed"}, "events"),
    ({"isActive": "yes"}, "isActive"),
    ({"secret": "mine"}, "secret"),
], ids=["ftp", "javascript", "credentials", "blank", "unknown-event", "no-events", "events-not-a-list",
        "active-not-boolean", "unknown-field"])
def test_bad_webhooks_are_400_per_field_and_store_nothing(api_client, receiver, expect_error, row_count, body,
                                                          field):
    response = api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"], **body})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert field in error["details"]["fields"], error
    assert row_count(Webhook) == 0


def signed_in(application, account) -> ApiClient:
    """A client of another app built on the same database, signed in as ``account``."""
    client = application.test_client()
    token = client.post("/api/auth/login", json={"email": account.email, "password": account.password})
    return ApiClient(client, token.json["data"]["session"]["token"])


def work(application) -> None:
    """Drain the queue with a real worker of ``application`` (``run_jobs`` works the test's own app)."""
    worker = build_worker(application, "simple")
    worker.listens_for_commands = False  # as run_jobs does: no command listener to wait for at exit
    worker.work(burst=True, logging_level="WARNING")


@pytest.fixture
def guarded_client(make_app, make_user):
    """A client of an app whose SSRF guard is on (WEBHOOK_ALLOW_PRIVATE_TARGETS off)."""
    return signed_in(make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=False), make_user())


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.0.0.7/hook", "http://192.168.0.2/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]:9000/", "http://[fd00:ec2::254]/",
    "http://[::ffff:127.0.0.1]/",
], ids=["loopback", "localhost", "10-net", "192-168", "metadata", "ipv6-loopback", "ipv6-metadata", "mapped"])
def test_with_the_guard_on_urls_pointing_inside_are_refused(guarded_client, expect_error, row_count, url):
    response = guarded_client.post("/api/webhooks", json={"url": url, "events": ["run.completed"]})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert "does not post to" in error["details"]["fields"]["url"][0]
    assert row_count(Webhook) == 0


def test_with_the_guard_on_a_name_that_resolves_inside_at_delivery_is_a_failed_delivery(
        make_app, make_user, row_count, receiver):
    """DNS rebinding: the name looked public when the webhook was saved and points at
    loopback when the event is sent; the worker checks again and sends nothing."""
    guarded = make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
    answers = {"hooks.rebind.test": ["93.184.216.34"]}
    webhook_runtime(guarded).resolver = lambda host, port: answers[host]
    client = signed_in(guarded, make_user())
    hook = create(client, f"http://hooks.rebind.test:{receiver.port}/hook")
    answers["hooks.rebind.test"] = ["127.0.0.1"]

    client.post(f"/api/webhooks/{hook['id']}/test")
    work(guarded)

    [delivery] = deliveries(client, hook["id"])
    assert delivery["status"] == "pending" and delivery["statusCode"] is None
    assert "127.0.0.1 is a loopback address" in delivery["errorMessage"]
    assert receiver.received == []


def test_a_redirecting_receiver_is_a_failed_delivery_that_is_not_followed(api_client, run_jobs):
    elsewhere, redirecting = start_receiver(), start_receiver()
    try:
        redirecting.answer(Answer(status=302, location=elsewhere.url))
        hook = create(api_client, redirecting.url)
        api_client.post(f"/api/webhooks/{hook['id']}/test")
        run_jobs()

        [delivery] = deliveries(api_client, hook["id"])
        assert delivery["status"] == "pending" and delivery["statusCode"] == 302
        assert "not followed" in delivery["errorMessage"]
        assert elsewhere.received == [] and len(redirecting.received) == 1
    finally:
        elsewhere.stop()
        redirecting.stop()


def test_a_receiver_that_times_out_is_a_failed_delivery_in_bounded_time(make_app, make_user, receiver):
    quick = make_app(WEBHOOK_READ_TIMEOUT=0.3)
    client = signed_in(quick, make_user())
    receiver.answer(Answer(delay=3.0))
    hook = create(client, receiver.url)
    client.post(f"/api/webhooks/{hook['id']}/test")

    started = time.monotonic()
    work(quick)

    assert time.monotonic() - started < 2.5
    [delivery] = deliveries(client, hook["id"])
    assert delivery["status"] == "pending" and "timed out" in delivery["errorMessage"].lower()


def test_a_receiver_answering_slowly_and_hugely_is_read_capped_and_in_bounded_time(make_app, make_user, receiver):
    quick = make_app(WEBHOOK_READ_TIMEOUT=0.5)
    client = signed_in(quick, make_user())
    receiver.answer(Answer(drip=100, drip_every=0.05))
    hook = create(client, receiver.url)
    client.post(f"/api/webhooks/{hook['id']}/test")

    started = time.monotonic()
    work(quick)

    assert time.monotonic() - started < 2.5
    [delivery] = deliveries(client, hook["id"])
    assert delivery["statusCode"] == 200 and 0 < len(delivery["responseBody"]) <= 2048


def test_members_and_viewers_may_not_manage_webhooks(api_client, user, make_user, add_member, login_as,
                                                     expect_error, receiver, row_count):
    hook = create(api_client, receiver.url)
    member = make_user()
    add_member(api_client, user.tenant_id, member, "member")
    as_member = login_as(member, user.tenant_id)

    expect_error(as_member.get("/api/webhooks"), 403, "FORBIDDEN")
    expect_error(as_member.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"]}), 403,
                 "FORBIDDEN")
    expect_error(as_member.patch(f"/api/webhooks/{hook['id']}", json={"isActive": False}), 403, "FORBIDDEN")
    expect_error(as_member.post(f"/api/webhooks/{hook['id']}/test"), 403, "FORBIDDEN")
    assert row_count(Webhook) == 1 and row_count(WebhookDelivery) == 0


def test_another_tenants_webhook_and_delivery_are_404_and_unchanged(api_client, make_user, login_api, receiver,
                                                                    expect_error, run_jobs, app_repos):
    hook = create(api_client, receiver.url)
    api_client.post(f"/api/webhooks/{hook['id']}/test")
    run_jobs()
    [delivery] = deliveries(api_client, hook["id"])
    intruder = login_api(make_user())

    for method, path in (("get", f"/api/webhooks/{hook['id']}"), ("patch", f"/api/webhooks/{hook['id']}"),
                         ("delete", f"/api/webhooks/{hook['id']}"), ("get", f"/api/webhooks/{hook['id']}/deliveries"),
                         ("post", f"/api/webhooks/{hook['id']}/test"),
                         ("get", f"/api/webhook-deliveries/{delivery['id']}"),
                         ("post", f"/api/webhook-deliveries/{delivery['id']}/redeliver")):
        expect_error(getattr(intruder, method)(path, json={"isActive": False} if method == "patch" else None), 404,
                     "NOT_FOUND")
    assert intruder.get("/api/webhooks").json["data"] == []
    shown = api_client.get(f"/api/webhooks/{hook['id']}").json["data"]
    assert shown["isActive"] is True and shown["totalDeliveries"] == 1
    assert len(deliveries(api_client, hook["id"])) == 1 and len(receiver.received) == 1


def test_deleting_a_webhook_removes_its_log(api_client, receiver, run_jobs, row_count, assert_documented):
    hook = create(api_client, receiver.url)
    api_client.post(f"/api/webhooks/{hook['id']}/test")
    run_jobs()

    deleted = api_client.delete(f"/api/webhooks/{hook['id']}")
    assert_documented(deleted, "DELETE", "/api/webhooks/{webhook_id}")
    assert deleted.json["data"]["id"] == hook["id"]
    assert (row_count(Webhook), row_count(WebhookDelivery)) == (0, 0)


def test_creating_changing_and_deleting_a_webhook_are_audited_without_the_secret(api_client, receiver, app_repos,
                                                                                  user):
    from app.models import AuditLogEntry

    hook = create(api_client, receiver.url)
    api_client.patch(f"/api/webhooks/{hook['id']}", json={"isActive": False, "description": "paused"})
    api_client.delete(f"/api/webhooks/{hook['id']}")

    with app_repos() as repos:
        entries = repos.session.query(AuditLogEntry).filter(AuditLogEntry.entity_type == "webhook") \
            .order_by(AuditLogEntry.created_at).all()
        assert [e.action for e in entries] == ["webhook.create", "webhook.update", "webhook.delete"]
        assert all(e.entity_id == hook["id"] and e.user_id == user.user.id for e in entries)
        assert entries[0].details["url"] == receiver.url
        assert entries[1].changes["is_active"] == {"before": True, "after": False}
        assert entries[1].changes["disabled_at"]["before"] is None
        assert hook["secret"] not in json.dumps([e.details for e in entries] + [e.changes for e in entries])


def test_a_refused_webhook_writes_no_audit_entry(api_client, row_count):
    from app.models import AuditLogEntry

    before = row_count(AuditLogEntry)
    api_client.post("/api/webhooks", json={"url": "ftp://example.com/", "events": ["run.completed"]})
    assert row_count(AuditLogEntry) == before


def test_a_webhook_scoped_to_a_project_hears_only_the_events_naming_it(app, api_client, user, receiver):
    project, other = uuid.uuid4(), uuid.uuid4()
    everything = create(api_client, receiver.url)
    scoped = create(api_client, receiver.url, projectId=str(project))
    assert scoped["projectId"] == str(project) and everything["projectId"] is None
    made = {}
    with app.test_request_context():
        for name, payload in (("about it", {"projectId": str(project)}), ("about another", {"projectId": str(other)}),
                              ("about none", {"runId": "r"})):
            event = DomainEvent("run.completed", "x", payload, tenant_id=user.tenant_id)
            made[name] = len(jobs._service(user.tenant_id).fan_out(event))
    assert made == {"about it": 2, "about another": 1, "about none": 1}
    assert len(deliveries(api_client, scoped["id"])) == 1
    # Unscoped again, it hears the whole tenant.
    changed = api_client.patch(f"/api/webhooks/{scoped['id']}", json={"projectId": None})
    assert changed.status_code == 200 and changed.json["data"]["projectId"] is None
    assert api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"],
                                                  "projectId": "not-an-id"}).status_code == 400
