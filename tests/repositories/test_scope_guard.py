"""app/repositories/scope_guard.py: the check that every statement stays in its tenant.

The first half reads statements without a database: it flags an unscoped select, update,
delete, join, subquery and insert, and passes the statements the scoped repositories build.
The second half installs the guard over a real session.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import ApiKey, Run, RunStep, User, utcnow
from app.repositories import RepositoryCache, RepositoryMetrics, statements
from app.repositories.runs import RunLocator, RunRepository, RunStepRepository
from app.repositories.scope_guard import ScopeGuard, StatementCheck, tenant_tables
from app.runtime import repositories

TENANT = uuid.uuid4()
RUN_ID = uuid.uuid4()


@pytest.fixture
def check() -> StatementCheck:
    return StatementCheck(tenant_tables(db.metadata))


def scoped(repository_class):
    """A scoped repository with no session: enough to build (not run) its statements."""
    return repository_class(None, tenant_id=TENANT, metrics=RepositoryMetrics(), cache=RepositoryCache(0))


def test_the_tenant_aware_tables_are_those_with_a_tenant_id(check):
    names = {table.name for table in check.tenant_aware}
    assert {"runs", "run_steps", "api_keys", "memberships", "domain_events"} <= names
    assert not names & {"users", "tenants", "credit_accounts", "outbox_messages"}


def test_a_select_without_the_tenant_predicate_is_flagged(check):
    assert check.problems(select(Run).where(Run.id == RUN_ID)) == ["SELECT from runs without a tenant predicate"]
    assert check.problems(select(Run.status)) == ["SELECT from runs without a tenant predicate"]


def test_a_select_restricted_to_a_tenant_passes(check):
    assert check.problems(select(Run).where(Run.id == RUN_ID, Run.tenant_id == TENANT)) == []
    assert check.problems(select(Run.id).where(Run.tenant_id.in_([TENANT, uuid.uuid4()]))) == []


def test_a_tenant_predicate_that_does_not_restrict_is_not_one(check):
    # OR-ed with anything, compared with a column, or on another table: none keeps the rows in.
    assert check.problems(select(Run).where(or_(Run.tenant_id == TENANT, Run.id == RUN_ID)))
    assert check.problems(select(Run).where(Run.tenant_id == Run.created_by_user_id))
    assert check.problems(select(Run).where(RunStep.tenant_id == TENANT)) == [
        "SELECT from runs without a tenant predicate"]


def test_a_join_needs_the_predicate_on_every_tenant_aware_table(check):
    joined = select(RunStep).join(Run, Run.id == RunStep.run_id).where(RunStep.tenant_id == TENANT)
    assert check.problems(joined) == ["SELECT from runs without a tenant predicate"]
    assert check.problems(joined.where(Run.tenant_id == TENANT)) == []
    on_clause = select(RunStep).join(Run, (Run.id == RunStep.run_id) & (Run.tenant_id == TENANT)) \
        .where(RunStep.tenant_id == TENANT)
    assert check.problems(on_clause) == []
    # Tables without a tenant join freely.
    assert check.problems(select(ApiKey).join(User, User.id == ApiKey.created_by_user_id)
                          .where(ApiKey.tenant_id == TENANT)) == []


def test_an_alias_needs_a_predicate_of_its_own(check):
    parent = aliased(Run)
    self_join = select(Run).join(parent, parent.id == Run.parent_run_id).where(Run.tenant_id == TENANT)
    assert check.problems(self_join) == ["SELECT from runs (aliased) without a tenant predicate"]
    assert check.problems(self_join.where(parent.tenant_id == TENANT)) == []


def test_a_subquery_is_checked_on_its_own(check):
    unscoped = select(func.count()).select_from(select(Run).subquery())
    assert check.problems(unscoped) == ["SELECT from runs without a tenant predicate"]
    inner = select(Run).where(Run.tenant_id == TENANT).subquery()
    assert check.problems(select(func.count()).select_from(inner)) == []
    exists = select(User).where(select(ApiKey.id).where(ApiKey.created_by_user_id == User.id).exists())
    assert check.problems(exists) == ["SELECT from api_keys without a tenant predicate"]


def test_an_update_or_delete_without_the_tenant_predicate_is_flagged(check):
    assert check.problems(update(Run).where(Run.id == RUN_ID).values(error=None)) == [
        "UPDATE of runs without a tenant predicate"]
    assert check.problems(RunStep.__table__.delete().where(RunStep.__table__.c.run_id == RUN_ID)) == [
        "DELETE of run_steps without a tenant predicate"]
    assert check.problems(update(Run).where(Run.id == RUN_ID, Run.tenant_id == TENANT).values(error=None)) == []
    assert check.problems(delete(RunStep).where(RunStep.tenant_id == TENANT)) == []


def test_an_insert_must_name_the_rows_tenant(check):
    assert check.problems(insert(ApiKey).values(name="k")) == ["INSERT into api_keys that does not set tenant_id"]
    assert check.problems(insert(ApiKey).values(name="k", tenant_id=TENANT)) == []
    # An executemany (or an ORM flush) names it in every row of parameters.
    assert check.problems(insert(ApiKey), [{"name": "a", "tenant_id": TENANT}]) == []
    assert check.problems(insert(ApiKey), [{"name": "a", "tenant_id": TENANT}, {"name": "b"}])


def test_raw_sql_is_flagged_and_tables_without_a_tenant_pass(check):
    assert check.problems(text("SELECT * FROM runs")) == ["raw SQL (text()) outside the system scope"]
    assert check.problems(select(User).where(User.email == "a@example.com")) == []
    assert check.problems(update(User).values(name="x")) == []


def test_every_statement_a_scoped_repository_builds_passes(check):
    runs, steps = scoped(RunRepository), scoped(RunStepRepository)
    built = [
        runs.select(Run.id == RUN_ID),
        runs.core_select(Run.status).where(Run.id == RUN_ID),
        runs.update_where(Run.id == RUN_ID).values(error=None),
        runs.delete_where(Run.id == RUN_ID),
        steps.core_select(RunStep.status, func.count()).group_by(RunStep.status),
        # The prepared hot-path statements, built once for every tenant, take it bound.
        statements.lock_run(True), statements.lock_run(False), statements.read_run(),
        statements.write_run(("status",)), statements.move_step(("status",), True, True),
    ]
    for statement in built:
        assert check.problems(statement) == [], statement
    # The claim runs before its tenant is known: system scope (RunStepLocator) only.
    assert check.problems(statements.claim_step(True)) == ["UPDATE of run_steps without a tenant predicate"]


# The guard over a real session -----------------------------------------------------------

def test_the_guard_records_an_unscoped_statement(app):
    with app.app_context(), ScopeGuard(db.metadata) as guard:
        db.session.execute(select(Run.id).where(Run.id == RUN_ID))
        db.session.execute(update(ApiKey).where(ApiKey.id == RUN_ID).values(name="taken"))
        db.session.rollback()
    assert [violation.reason for violation in guard.violations] == [
        "SELECT from runs without a tenant predicate", "UPDATE of api_keys without a tenant predicate"]
    assert "FROM runs" in guard.violations[0].sql
    assert "2 statement(s) not scoped to a tenant" in guard.report()


def test_the_guard_passes_scoped_work_and_the_orm_writing_back_what_it_loaded(app, make_user, new_key):
    account = make_user()
    with app.app_context(), ScopeGuard(db.metadata) as guard:
        scoped_repos = repositories().for_tenant(account.tenant_id)
        with scoped_repos.transaction():
            key = scoped_repos.api_keys.add(new_key("first name"))
        assert key.name == "first name"  # expired by the commit: reloaded by its identity
        with scoped_repos.transaction():
            key.name = "second name"  # flushed as UPDATE … WHERE id = the loaded row's
            scoped_repos.api_keys.save(key)
        assert [found.name for found in scoped_repos.api_keys.list()] == ["second name"]
    assert guard.violations == []
    assert guard.statements_checked >= 2  # the INSERT and the list at least


def test_the_guard_lets_the_declared_system_scope_cross_tenants(app):
    with app.app_context(), ScopeGuard(db.metadata) as guard:
        assert repositories().get(RunLocator).unfinished(utcnow()) == []
        assert guard.violations == []
        db.session.execute(select(Run.id))  # the same kind of read outside it
    assert len(guard.violations) == 1


def test_the_guard_checks_only_what_it_is_told_to_watch(app):
    watched = {"now": False}
    with app.app_context(), ScopeGuard(db.metadata, watching=lambda: watched["now"]) as guard:
        db.session.execute(select(Run.id))
        watched["now"] = True
        db.session.execute(select(RunStep.id))
    assert [violation.reason for violation in guard.violations] == [
        "SELECT from run_steps without a tenant predicate"]


def test_the_guard_stops_listening_when_it_is_uninstalled(app):
    with app.app_context():
        with ScopeGuard(db.metadata) as guard:
            pass
        db.session.execute(select(Run.id).where(Run.id == bindparam("id")), {"id": RUN_ID})
    assert guard.violations == []
