"""app/repositories/unit_of_work.py: one transaction, committed or rolled back as a whole."""

from __future__ import annotations

import logging

import pytest

from app.errors import ConflictError
from app.events import DomainEvent
from app.models import DomainEventRecord, OutboxMessage, User
from app.runtime import current_state, repositories


def mail(to: str) -> OutboxMessage:
    return OutboxMessage(kind="note", to_address=to, subject="Hello", body="A line.")


def stored_addresses(app) -> list[str]:
    """What another session (another request, a worker) sees in the outbox."""
    with app.app_context():
        return sorted(message.to_address for message in repositories().outbox.list())


def test_leaving_the_block_commits_for_everyone_to_see(app):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.outbox.add(mail("a@example.com"))

    assert stored_addresses(app) == ["a@example.com"]


def test_the_same_factory_hands_out_one_unit_of_work(app):
    with app.app_context():
        assert repositories().transaction() is repositories().transaction()


def test_a_nested_block_joins_the_outer_transaction(app):
    heard: list[str] = []
    current_state(app).events.subscribe("probe.happened", lambda event: heard.append(event.type))

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.outbox.add(mail("outer@example.com"))
            with repos.transaction() as inner:
                repos.outbox.add(mail("inner@example.com"))
                inner.publish(DomainEvent("probe.happened", "x"))
            # Leaving the inner block committed nothing and handed nothing on.
            assert stored_addresses(app) == []
            assert heard == []

    assert stored_addresses(app) == ["inner@example.com", "outer@example.com"]
    assert heard == ["probe.happened"]


def test_a_failure_after_a_nested_block_rolls_back_the_nested_work_too(app, row_count):
    with app.app_context():
        repos = repositories()
        with pytest.raises(LookupError):
            with repos.transaction():
                with repos.transaction() as inner:
                    repos.outbox.add(mail("inner@example.com"))
                    inner.publish(DomainEvent("probe.happened", "x"))
                raise LookupError("the outer step failed")

    assert stored_addresses(app) == []
    assert row_count(DomainEventRecord) == 0


def test_an_integrity_error_at_commit_becomes_a_conflict_and_rolls_back(app, make_user):
    ada, bob = make_user(), make_user()
    heard: list[str] = []
    current_state(app).events.subscribe("probe.happened", lambda event: heard.append(event.type))

    with app.app_context():
        repos = repositories()
        with pytest.raises(ConflictError) as raised:
            with repos.transaction() as tx:
                bob_row = repos.users.get(bob.user.id)
                bob_row.name = "Renamed"
                bob_row.email = ada.email  # unique: fails when the commit flushes it
                tx.publish(DomainEvent("probe.happened", str(bob.user.id)))
        assert raised.value.status_code == 409

        # The session was rolled back and is usable again.
        assert repos.users.get(bob.user.id).email == bob.email

    with app.app_context():
        stored = repositories().users.get(bob.user.id)
        assert (stored.email, stored.name) == (bob.email, bob.user.name)
    assert heard == []


def test_events_of_a_rolled_back_transaction_are_not_handed_on_by_the_next_commit(app):
    heard: list[str] = []
    current_state(app).events.subscribe("*", lambda event: heard.append(event.aggregate_id))

    with app.app_context():
        repos = repositories()
        with pytest.raises(RuntimeError):
            with repos.transaction() as tx:
                tx.publish(DomainEvent("probe.happened", "rolled-back"))
                raise RuntimeError
        with repos.transaction() as tx:
            tx.publish(DomainEvent("probe.happened", "committed"))

    assert heard == ["committed"]


def test_a_commit_stays_done_when_its_events_cannot_be_handed_on(make_app, caplog):
    # Redis is unreachable, so queueing the background delivery fails after the commit.
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    current_state(app).events.subscribe("probe.happened", lambda event: None, background=True)

    with caplog.at_level(logging.ERROR, logger="app.repositories.unit_of_work"), app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            repos.outbox.add(mail("kept@example.com"))
            event = tx.publish(DomainEvent("probe.happened", "x"))

    assert stored_addresses(app) == ["kept@example.com"]
    with app.app_context():
        assert repositories().get_event_record(event.id) is not None
    assert any("could not be handed on" in record.getMessage() for record in caplog.records)


def test_work_outside_a_block_is_not_committed(app):
    with app.app_context():
        repos = repositories()
        repos.users.list(User.email == "nobody@example.com")
        repos.outbox.add(mail("uncommitted@example.com"))

    assert stored_addresses(app) == []
