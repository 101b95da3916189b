"""app/webhooks/jobs.py: the sweep that finds deliveries whose jobs Redis lost, from the database."""

from __future__ import annotations

import uuid

import redis

from app.events import DomainEvent
from app.extensions import db
from app.runtime import current_state, repositories
from app.webhooks.jobs import requeue_overdue_deliveries


def test_a_delivery_whose_job_was_lost_is_queued_again_once_overdue(app, api_client, clock, receiver, run_jobs,
                                                                   inkwright_redis_url, tenant_scope_guard):
    hook = api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"]}).json["data"]
    api_client.post(f"/api/webhooks/{hook['id']}/test")
    redis.Redis.from_url(inkwright_redis_url).flushdb()  # Redis lost the queue

    with app.app_context():
        assert requeue_overdue_deliveries() == 0, "not overdue yet: a busy queue may still hold it"
        clock.advance(11 * 60)
        assert requeue_overdue_deliveries() == 1
        assert requeue_overdue_deliveries() == 0, "its job is queued now: not twice"
        assert current_state().queue().count == 1
    run_jobs()

    assert len(receiver.received) == 1
    [delivery] = api_client.get(f"/api/webhooks/{hook['id']}/deliveries").json["data"]["items"]
    assert delivery["status"] == "delivered"


def test_the_sweep_leaves_queued_and_ended_deliveries_alone(app, api_client, clock, receiver, run_jobs):
    hook = api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"]}).json["data"]
    api_client.post(f"/api/webhooks/{hook['id']}/test")
    run_jobs()  # delivered
    api_client.post(f"/api/webhooks/{hook['id']}/test")  # queued, not yet run
    clock.advance(3600)

    with app.app_context():
        assert requeue_overdue_deliveries() == 0
    assert run_jobs() == 1 and len(receiver.received) == 2


def test_the_fan_out_check_leaves_the_publishers_session_as_the_commit_left_it(app, api_client, user, receiver):
    """The check runs in the publisher's process right after its commit (a worker may go on
    to its next step): it reads on a session of its own, so none is left open, or broken by
    a database that went away meanwhile, in the publisher's."""
    api_client.post("/api/webhooks", json={"url": receiver.url, "events": ["run.completed"]})

    with app.app_context():
        repos = repositories(user.tenant_id)
        for event_type in ("run.completed", "run.failed"):  # heard, and not heard
            with repos.transaction() as unit:
                unit.publish(DomainEvent(type=event_type, aggregate_id=str(uuid.uuid4()), tenant_id=user.tenant_id))
            assert not db.session().in_transaction(), event_type
        assert [job.func_name for job in current_state().queue().get_jobs()] == ["app.webhooks.jobs.fan_out_event"]
