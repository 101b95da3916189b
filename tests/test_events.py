"""app/events.py with the unit of work: recorded on commit, handed on after it, never on rollback."""

from __future__ import annotations

import logging

import pytest
from rq import get_current_job

from app.events import ANY, DomainEvent, EventBus
from app.models import DomainEventRecord
from app.runtime import current_state, repositories


def probe_event(tenant_id, type_: str = "probe.happened", **payload) -> DomainEvent:
    return DomainEvent(type_, "aggregate-1", payload or {"n": 1}, tenant_id=tenant_id)


def recorded(app, event_id) -> DomainEventRecord | None:
    """Read the event through a fresh app context, i.e. a session of its own."""
    with app.app_context():
        return repositories().get_event_record(event_id)


def test_published_event_is_recorded_and_handed_on_after_commit(app, user):
    heard: list[tuple[DomainEvent, bool]] = []
    current_state(app).events.subscribe(
        "probe.happened", lambda event: heard.append((event, recorded(app, event.id) is not None)))

    with app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            event = tx.publish(probe_event(user.tenant_id, chapter=3))
            assert heard == []  # nothing is heard before the commit

    assert heard == [(event, True)]  # and by then the record is visible to others
    row = recorded(app, event.id)
    assert (row.type, row.aggregate_id, row.payload, row.tenant_id) == (
        "probe.happened", "aggregate-1", {"chapter": 3}, user.tenant_id)


def test_recorded_events_are_listed_per_tenant(app, make_user):
    ada, bob = make_user(), make_user()
    with app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            tx.publish(probe_event(ada.tenant_id))
            tx.publish(probe_event(bob.tenant_id))

    with app.app_context():
        seen = repositories().for_tenant(ada.tenant_id).events.list(DomainEventRecord.type == "probe.happened")
    assert [row.tenant_id for row in seen] == [ada.tenant_id]


def test_rolled_back_transaction_records_nothing_and_calls_no_handler(app, user):
    heard: list[DomainEvent] = []
    current_state(app).events.subscribe(ANY, heard.append)

    with app.app_context():
        repos = repositories()
        with pytest.raises(RuntimeError):
            with repos.transaction() as tx:
                event = tx.publish(probe_event(user.tenant_id))
                raise RuntimeError("the change failed half-way")

    assert heard == []
    assert recorded(app, event.id) is None


def test_failing_handler_is_logged_and_the_others_still_run(app, user, caplog):
    heard: list[str] = []

    def broken(event: DomainEvent) -> None:
        raise ValueError("plugin bug")

    bus = current_state(app).events
    bus.subscribe("probe.happened", broken)
    bus.subscribe("probe.happened", lambda event: heard.append(event.type))

    with caplog.at_level(logging.ERROR, logger="app.events"), app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            event = tx.publish(probe_event(user.tenant_id))

    assert heard == ["probe.happened"]
    assert recorded(app, event.id) is not None  # the change stays committed
    [failure] = [r for r in caplog.records if r.name == "app.events"]
    assert "broken" in failure.getMessage() and str(event.id) in failure.getMessage()
    assert failure.exc_info[0] is ValueError


def test_star_subscription_hears_every_type_and_typed_ones_only_theirs(app, user):
    everything: list[str] = []
    only_probes: list[str] = []
    bus = current_state(app).events
    bus.subscribe(ANY, lambda event: everything.append(event.type))
    bus.subscribe("probe.happened", lambda event: only_probes.append(event.type))

    with app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            tx.publish(probe_event(user.tenant_id))
            tx.publish(probe_event(user.tenant_id, "probe.other"))

    assert everything == ["probe.happened", "probe.other"]
    assert only_probes == ["probe.happened"]


def test_unsubscribed_handler_hears_nothing_more():
    bus = EventBus()
    heard: list[str] = []
    bus.subscribe("probe.happened", heard.append)
    bus.unsubscribe("probe.happened", heard.append)

    assert bus.dispatch(probe_event(None)) == []
    assert heard == []


def test_background_handler_runs_on_a_worker_not_in_process(app, user, run_jobs):
    in_process: list[str] = []
    on_worker: list[tuple[DomainEvent, bool]] = []
    bus = current_state(app).events
    bus.subscribe("probe.happened", lambda event: in_process.append(event.type))
    bus.subscribe("probe.happened", lambda event: on_worker.append((event, get_current_job() is not None)),
                  background=True)

    with app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            event = tx.publish(probe_event(user.tenant_id, words=1200))

    assert in_process == ["probe.happened"]
    assert on_worker == []
    [job] = current_state(app).queue().get_jobs()
    assert (job.func_name, job.args) == ("app.jobs.deliver_event", [str(event.id)])

    assert run_jobs() == 1

    [(delivered, inside_job)] = on_worker
    assert inside_job
    assert (delivered.id, delivered.type, delivered.payload, delivered.tenant_id) == (
        event.id, "probe.happened", {"words": 1200}, user.tenant_id)
    assert in_process == ["probe.happened"]  # the in-process handler is not run again


def test_events_without_background_handlers_queue_nothing(app, user):
    current_state(app).events.subscribe("probe.happened", lambda event: None)

    with app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            tx.publish(probe_event(user.tenant_id))

    assert current_state(app).queue().count == 0


def test_delivering_an_event_that_was_never_recorded_fails_the_job(app, run_jobs):
    current_state(app).events.subscribe("probe.happened", lambda event: None, background=True)
    unknown = probe_event(None)
    job = current_state(app).enqueue("app.jobs.deliver_event", unknown.id)

    assert run_jobs() == 1

    job.refresh()
    assert job.get_status() == "failed"
    assert "No recorded event" in job.latest_result().exc_string
