"""app/repositories/unit_of_work.py: one transaction, committed or rolled back as a whole."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import event

from app.errors import ConflictError
from app.events import DomainEvent
from app.extensions import db
from app.models import DomainEventRecord, OutboxMessage, User
from app.repositories.unit_of_work import OpenTransactionError
from app.runtime import current_state, repositories


def mail(to: str) -> OutboxMessage:
    return OutboxMessage(kind="note", to_address=to, subject="Hello", body="A line.")


def stored_addresses(app) -> list[str]:
    """What another session (another request, a worker) sees in the outbox."""
    with app.app_context():
        return sorted(message.to_address for message in repositories().outbox.list())


def stored_probes(app, tenant_id: uuid.UUID) -> list[str]:
    """The aggregate ids of a tenant's recorded probe events, as another session sees them."""
    with app.app_context():
        records = repositories(tenant_id).events.list(DomainEventRecord.type == "probe.happened")
        return sorted(record.aggregate_id for record in records)


def probe(name: str, tenant_id: uuid.UUID | None = None) -> DomainEvent:
    return DomainEvent("probe.happened", name, tenant_id=tenant_id)


@pytest.fixture
def heard(app) -> list[str]:
    """The aggregate ids of the events handed on after a commit, in order."""
    delivered: list[str] = []
    current_state(app).events.subscribe("probe.happened", lambda event: delivered.append(event.aggregate_id))
    return delivered


@pytest.fixture
def statements(app):
    """Every SQL statement the app's engine sends, and a "COMMIT" for each commit."""
    sent: list[str] = []

    def on_execute(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    def on_commit(_connection) -> None:
        sent.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    yield sent
    event.remove(engine, "before_cursor_execute", on_execute)
    event.remove(engine, "commit", on_commit)


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


def test_every_factory_over_a_session_shares_its_unit_of_work(app, make_user):
    ada, bob = make_user(), make_user()
    with app.app_context():
        repos = repositories(ada.tenant_id)
        assert repositories(bob.tenant_id).transaction() is repos.transaction()
        assert repos.for_tenant(bob.tenant_id).transaction() is repos.transaction()
        assert repositories().transaction() is repos.transaction()
        first = repos.transaction()
    with app.app_context():
        # Another app context is another session, with a unit of work of its own.
        assert repositories(ada.tenant_id).transaction() is not first


def test_a_nested_block_of_another_tenant_commits_nothing_until_the_outer_block_ends(
        app, make_user, heard, statements):
    ada, bob = make_user(), make_user()
    statements.clear()
    with app.app_context():
        for_ada, for_bob = repositories(ada.tenant_id), repositories(bob.tenant_id)
        with for_ada.transaction() as outer:
            outer.publish(probe("ada-before", ada.tenant_id))
            with for_bob.transaction() as inner:
                inner.publish(probe("bob", bob.tenant_id))
            # Bob's block ended well: nothing of Ada's (nor Bob's) is committed yet.
            assert "COMMIT" not in statements
            assert stored_probes(app, ada.tenant_id) == [] and stored_probes(app, bob.tenant_id) == []
            assert heard == []
            outer.publish(probe("ada-after", ada.tenant_id))

    assert statements.count("COMMIT") == 1
    assert stored_probes(app, ada.tenant_id) == ["ada-after", "ada-before"]
    assert stored_probes(app, bob.tenant_id) == ["bob"]
    assert heard == ["ada-before", "bob", "ada-after"]


def test_a_failure_caught_outside_a_nested_block_undoes_only_that_block(app, make_user, heard):
    ada, bob = make_user(), make_user()
    with app.app_context():
        for_ada, for_bob = repositories(ada.tenant_id), repositories(bob.tenant_id)
        with for_ada.transaction() as outer:
            outer.publish(probe("before", ada.tenant_id))
            with pytest.raises(LookupError):
                with for_bob.transaction() as inner:
                    for_bob.outbox.add(mail("failed@example.com"))
                    inner.publish(probe("failed", bob.tenant_id))
                    raise LookupError("the nested step failed")
            for_ada.outbox.add(mail("went-on@example.com"))
            outer.publish(probe("went-on", ada.tenant_id))

    assert stored_addresses(app) == ["went-on@example.com"]
    assert stored_probes(app, bob.tenant_id) == []
    assert stored_probes(app, ada.tenant_id) == ["before", "went-on"]
    assert heard == ["before", "went-on"]


def test_a_failure_inside_a_nested_block_keeps_what_the_outer_block_did_before_it(app, heard):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.outbox.add(mail("before@example.com"))
            with repos.transaction():
                repos.outbox.add(mail("kept@example.com"))
                try:
                    with repos.transaction():
                        repos.outbox.add(mail("undone@example.com"))
                        raise RuntimeError("the innermost block failed")
                except RuntimeError:
                    pass
                # The middle block goes on: it sees its own work and not the innermost's.
                assert sorted(m.to_address for m in repos.outbox.list()) == ["before@example.com",
                                                                              "kept@example.com"]

    assert stored_addresses(app) == ["before@example.com", "kept@example.com"]


def test_a_failure_after_another_tenants_nested_block_was_released_rolls_back_everything(
        app, make_user, heard):
    ada, bob = make_user(), make_user()
    with app.app_context():
        for_ada, for_bob = repositories(ada.tenant_id), repositories(bob.tenant_id)
        with pytest.raises(LookupError):
            with for_ada.transaction():
                # The nested block is the transaction's first write: on SQLite, the case in
                # which a SAVEPOINT would open a transaction of its own and RELEASE commit it.
                with for_bob.transaction() as inner:
                    for_bob.outbox.add(mail("released@example.com"))
                    inner.publish(probe("released", bob.tenant_id))
                raise LookupError("the outer step failed")
        # The session is usable again, and the next commit hands on nothing of the failed one.
        with for_ada.transaction() as tx:
            tx.publish(probe("next", ada.tenant_id))

    assert stored_addresses(app) == []
    assert stored_probes(app, bob.tenant_id) == []
    assert heard == ["next"]


def test_events_published_in_a_rolled_back_block_are_never_handed_on(app, user, heard):
    with app.app_context():
        repos = repositories(user.tenant_id)
        with repos.transaction() as outer:
            outer.publish(probe("outer", user.tenant_id))
            with pytest.raises(RuntimeError):
                with repos.transaction() as inner:
                    inner.publish(probe("through-the-block", user.tenant_id))
                    # Published without the block's handle, through another factory: the
                    # same unit of work, so dropped with the block all the same.
                    repositories().transaction().publish(probe("through-the-factory", user.tenant_id))
                    raise RuntimeError
            with repos.transaction() as released:
                released.publish(probe("released", user.tenant_id))
            # A released block's events wait for the outermost commit.
            assert heard == []

    assert heard == ["outer", "released"]
    assert stored_probes(app, user.tenant_id) == ["outer", "released"]


def test_a_conflict_in_a_nested_block_undoes_that_block_and_the_outer_goes_on(app, make_user):
    ada, bob = make_user(), make_user()
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.outbox.add(mail("kept@example.com"))
            with pytest.raises(ConflictError):
                with repos.transaction():
                    repos.users.get(bob.user.id).email = ada.email  # unique: fails as the block ends
            assert repos.users.get(bob.user.id).email == bob.email

    assert stored_addresses(app) == ["kept@example.com"]
    with app.app_context():
        assert repositories().users.get(bob.user.id).email == bob.email


def test_only_a_nested_block_issues_a_savepoint(app, statements):
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.outbox.add(mail("outer@example.com"))
        assert not any("SAVEPOINT" in statement for statement in statements)

        with repos.transaction():
            with repos.transaction():
                repos.outbox.add(mail("nested@example.com"))
        assert sum(statement.startswith("SAVEPOINT") for statement in statements) == 1


def test_ending_a_read_refuses_inside_an_open_block_and_the_block_goes_on(app):
    with app.app_context():
        repos = repositories()
        with repos.transaction() as tx:
            repos.outbox.add(mail("kept@example.com"))
            with pytest.raises(OpenTransactionError):
                tx.end_read()
            with pytest.raises(OpenTransactionError):
                repos.transaction().outermost()

    assert stored_addresses(app) == ["kept@example.com"]


def test_ending_a_read_discards_what_no_block_was_going_to_commit(app, heard):
    with app.app_context():
        repos = repositories()
        repos.outbox.add(mail("outside@example.com"))
        repos.transaction().publish(probe("outside"))
        repos.transaction().end_read()
        with repos.transaction() as tx:
            tx.publish(probe("committed"))

    assert stored_addresses(app) == []
    assert heard == ["committed"]
