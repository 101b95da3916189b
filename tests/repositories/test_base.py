"""app/repositories/base.py: tenant scope, soft delete, ids, and wrapped database errors."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError

from app.errors import NotFoundError, RepositoryError
from app.extensions import db
from app.models import ApiKey, OutboxMessage, User
from app.repositories.api_keys import ApiKeyRepository
from app.repositories.base import prepared_select, prepared_update
from app.runtime import current_state, repositories


def add_keys(app, tenant_id, new_key, *names) -> list[uuid.UUID]:
    """Commit API keys into a tenant through its scoped repository; return their ids."""
    with app.app_context():
        scoped = repositories().for_tenant(tenant_id)
        with scoped.transaction():
            keys = [scoped.api_keys.add(new_key(name)) for name in names]
        return [key.id for key in keys]


def test_a_scoped_repository_cannot_be_built_without_a_tenant(repos):
    with pytest.raises(ValueError, match="needs a tenant scope"):
        repos.api_keys
    state = current_state()
    with pytest.raises(ValueError):
        ApiKeyRepository(db.session, tenant_id=None, metrics=state.metrics, cache=state.cache)


def test_another_tenants_rows_are_invisible_to_every_read(app, two_tenants, new_key):
    ada, bob = two_tenants
    [ada_key] = add_keys(app, ada.tenant_id, new_key, "ada's key")
    [bob_key] = add_keys(app, bob.tenant_id, new_key, "bob's key")

    with app.app_context():
        keys = repositories().for_tenant(ada.tenant_id).api_keys
        assert [key.id for key in keys.list()] == [ada_key]
        assert keys.count() == 1
        assert keys.get(bob_key) is None
        assert keys.get(ada_key).name == "ada's key"
        assert keys.first(ApiKey.name == "bob's key") is None
        assert keys.first(ApiKey.id == bob_key) is None
        items, total = keys.page()
        assert ([key.id for key in items], total) == ([ada_key], 1)
        with pytest.raises(NotFoundError) as raised:
            keys.require(bob_key)
        assert raised.value.details == {"id": str(bob_key)}


def test_add_sets_the_repositorys_tenant_on_a_row_without_one(app, two_tenants, new_key):
    ada, _bob = two_tenants
    with app.app_context():
        scoped = repositories().for_tenant(ada.tenant_id)
        with scoped.transaction():
            key = scoped.api_keys.add(new_key())
        key_id = key.id

    with app.app_context():
        stored = db.session.get(ApiKey, key_id)
        assert stored.tenant_id == ada.tenant_id


def test_add_refuses_a_row_carrying_another_tenants_id(app, two_tenants, new_key, row_count):
    ada, bob = two_tenants
    with app.app_context():
        scoped = repositories().for_tenant(ada.tenant_id)
        with pytest.raises(RepositoryError) as raised:
            with scoped.transaction():
                scoped.api_keys.add(new_key(tenant_id=bob.tenant_id))
        assert (raised.value.operation, raised.value.entity) == ("add", "ApiKey")
        with pytest.raises(RepositoryError):
            with scoped.transaction():
                scoped.api_keys.add_all([new_key(), new_key(tenant_id=bob.tenant_id)])

    assert row_count(ApiKey) == 0


def test_soft_deleted_rows_are_hidden_but_kept(app, two_tenants):
    ada, bob = two_tenants
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.users.delete(repos.users.get(ada.user.id))

    with app.app_context():
        users = repositories().users
        assert users.get(ada.user.id) is None
        assert users.find_by_email(ada.email) is None
        assert [user.id for user in users.list()] == [bob.user.id]
        assert users.count() == 1
        assert db.session.get(User, ada.user.id).deleted_at is not None


def test_deleting_a_row_that_is_not_soft_deletable_removes_it(app, two_tenants, new_key, row_count):
    ada, _bob = two_tenants
    [key_id] = add_keys(app, ada.tenant_id, new_key, "short-lived")
    with app.app_context():
        scoped = repositories().for_tenant(ada.tenant_id)
        with scoped.transaction():
            scoped.api_keys.delete(scoped.api_keys.get(key_id))

    assert row_count(ApiKey) == 0


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", None, 42, "1234", {"id": 1}])
def test_get_with_something_that_is_not_a_uuid_finds_nothing(repos, user, bad_id):
    assert repos.users.get(bad_id) is None
    assert repos.users.get(str(user.user.id)).email == user.email  # a UUID as text works


def test_a_database_error_becomes_a_repository_error_naming_operation_and_entity(app, row_count):
    with app.app_context():
        repos = repositories()
        with pytest.raises(RepositoryError) as raised:
            with repos.transaction():
                repos.outbox.add(OutboxMessage(kind="note", to_address="a@example.com", subject=None, body="x"))

    error = raised.value
    assert (error.operation, error.entity) == ("add", "OutboxMessage")
    assert isinstance(error.cause, IntegrityError)
    assert (error.code, error.status_code) == ("REPOSITORY_ERROR", 500)
    assert error.message == "The database could not add OutboxMessage."  # no SQL for clients
    assert row_count(OutboxMessage) == 0


def test_page_returns_one_page_of_items_and_the_total(app, make_user):
    accounts = [make_user() for _ in range(5)]
    with app.app_context():
        users = repositories().users
        items, total = users.page(order_by=[User.email], limit=2, offset=2)
        assert total == 5
        assert [user.email for user in items] == sorted(account.email for account in accounts)[2:4]
        items, total = users.page(User.email == accounts[0].email)
        assert ([user.email for user in items], total) == ([accounts[0].email], 1)


def test_the_scoped_helpers_read_change_and_remove_only_the_tenants_rows(app, two_tenants, new_key):
    ada, bob = two_tenants
    add_keys(app, ada.tenant_id, new_key, "shared name", "ada only")
    [bob_key] = add_keys(app, bob.tenant_id, new_key, "shared name")

    with app.app_context():
        scoped = repositories().for_tenant(ada.tenant_id)
        keys = scoped.api_keys
        with scoped.transaction():
            renamed = db.session.execute(keys.update_where(ApiKey.name == "shared name").values(name="renamed"))
            removed = db.session.execute(keys.delete_where(ApiKey.name == "ada only"))
        assert (renamed.rowcount, removed.rowcount) == (1, 1)
        assert db.session.scalars(keys.core_select(ApiKey.name)).all() == ["renamed"]

    with app.app_context():
        bobs = repositories().for_tenant(bob.tenant_id).api_keys
        assert [(key.id, key.name) for key in bobs.list()] == [(bob_key, "shared name")]


def test_a_prepared_statement_runs_bound_to_the_repositorys_tenant(app, two_tenants, new_key):
    ada, bob = two_tenants
    [ada_key] = add_keys(app, ada.tenant_id, new_key, "ada's key")
    keys = ApiKey.__table__
    rename = prepared_update(keys).where(keys.c.id == bindparam("b_key")).values(name=bindparam("b_name"))

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            from_bob = repos.for_tenant(bob.tenant_id).api_keys.execute_prepared(
                rename, {"b_key": ada_key, "b_name": "taken by bob"})
            from_ada = repos.for_tenant(ada.tenant_id).api_keys.execute_prepared(
                rename, {"b_key": ada_key, "b_name": "renamed by ada"})
        assert (from_bob.rowcount, from_ada.rowcount) == (0, 1)
        read = prepared_select(keys, keys.c.name)
        assert repos.for_tenant(bob.tenant_id).api_keys.execute_prepared(read, {}).all() == []
        assert repos.for_tenant(ada.tenant_id).api_keys.execute_prepared(read, {}).scalars().all() == [
            "renamed by ada"]
