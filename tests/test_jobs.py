"""Job functions (app/jobs.py): ids in, work done inside the worker's app context."""

from __future__ import annotations


import pytest

from app.errors import NotFoundError
from app.jobs import deliver_event, purge_expired_sessions
from app.models import DomainEventRecord
from app.runtime import current_state, repositories




@pytest.mark.parametrize("event_id", ["6b0e2c1d-9f3a-4e57-8c2b-1d4f5a6e7b80", "not-an-id"])  # never recorded
def test_delivering_an_event_that_was_never_recorded_is_not_found(app, event_id):
    with app.app_context(), pytest.raises(NotFoundError, match=f"No recorded event {event_id}"):
        deliver_event(event_id)


def test_delivery_runs_only_the_background_handlers_and_names_the_failures(app, user):
    heard: list[tuple[str, object]] = []

    def count_words(event):
        heard.append(("background", event))

    def broken(event):
        raise RuntimeError("handler bug")

    def inline(event):
        heard.append(("inline", event))

    bus = current_state(app).events
    for handler, background in ((count_words, True), (broken, True), (inline, False)):
        bus.subscribe("user.registered", handler, background=background)
    with app.app_context():
        record = repositories(user.tenant_id).events.first(DomainEventRecord.type == "user.registered")
        result = deliver_event(str(record.id))

    assert result["event"] == str(record.id)
    assert result["handlers"] == 2
    assert result["failed"] == [f"{__name__}.test_delivery_runs_only_the_background_handlers_and_names_the_failures"
                                ".<locals>.broken"]
    [(kind, event)] = heard
    assert kind == "background"
    assert (event.id, event.type, event.tenant_id) == (record.id, "user.registered", user.tenant_id)
    assert event.payload == {"userId": str(user.user.id), "email": user.email}


def test_a_committed_event_with_a_background_handler_is_delivered_by_the_worker(app, make_user, run_jobs):
    heard = []
    current_state(app).events.subscribe("user.registered", heard.append, background=True)
    account = make_user()
    assert heard == []  # not in the request: on the queue
    assert run_jobs() == 1
    assert [(event.type, event.tenant_id) for event in heard] == [("user.registered", account.tenant_id)]


def test_purge_deletes_only_sessions_whose_refresh_token_lapsed(app, sessions, remaining_sessions):
    lapsed, live = sessions
    with app.app_context():
        assert purge_expired_sessions() == 1
    assert remaining_sessions() == {live}
    with app.app_context():
        assert purge_expired_sessions() == 0
    assert remaining_sessions() == {live}
