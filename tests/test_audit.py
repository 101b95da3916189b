"""The audit recorder (app/audit.py) and its repositories: an entry commits with its change
and only with it, secrets are masked, where a request came from is read honestly, and the
log cannot be changed or emptied by the application (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import audit
from app.auth.tokens import API_KEY_PREFIX, new_secret
from app.errors import ConflictError, RepositoryError
from app.extensions import db
from app.models import AuditLogEntry, Membership, Role
from app.models.audit_log import AppendOnlyError
from app.repositories.audit_log import AuditFilter, AuditLogRepository, AuditLogWriter, PlatformAuditLog
from app.runtime import repositories


def count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLogEntry)
                                 .where(AuditLogEntry.action == action))


# Masking -----------------------------------------------------------------------------------
def test_values_under_secret_names_and_bearer_secrets_are_masked_wherever_they_are():
    secret = new_secret(API_KEY_PREFIX)
    found = audit.masked({"password": "hunter2 hunter2", "key": "sk-abc", "refresh_token": "x", "key_hash": "ab",
                          "nested": {"client_secret": "s", "note": secret, "list": [secret, "plain"]},
                          "prefix": secret[:12], "name": "ci runner", "role": Role.ADMIN, "missing_key": None})
    assert found == {"password": "********", "key": "********", "refresh_token": "********", "key_hash": "********",
                     "nested": {"client_secret": "********", "note": "********", "list": ["********", "plain"]},
                     "prefix": secret[:12], "name": "ci runner", "role": "admin", "missing_key": None}


def test_a_secret_fields_change_keeps_its_shape_not_its_values():
    assert audit.masked_changes({"password": {"before": "old one", "after": "new one"},
                                 "api_key": {"before": None, "after": "iwk_" + "x" * 43},
                                 "role": {"before": "member", "after": "admin"}}) == {
        "password": {"before": "********", "after": "********"},
        "api_key": {"before": None, "after": "********"},
        "role": {"before": "member", "after": "admin"}}


def test_changed_holds_only_the_fields_that_differ():
    assert audit.changed({"theme": "light", "size": 3, "gone": 1}, {"theme": "dark", "size": 3, "new": 2}) == {
        "gone": {"before": 1, "after": None}, "new": {"before": None, "after": 2},
        "theme": {"before": "light", "after": "dark"}}


# Where a request came from ------------------------------------------------------------------
def test_outside_a_request_nothing_is_made_up():
    assert audit.request_origin() == audit.Origin(None, None)


def test_the_forwarded_address_counts_only_behind_the_configured_proxies(make_app):
    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "User-Agent": "probe " + "x" * 600}
    for proxies, expected in ((0, "10.0.0.5"), (1, "203.0.113.9"), (2, "198.51.100.1")):
        studio = make_app(TRUSTED_PROXIES=proxies)
        # Through the whole WSGI app, ProxyFix included, as a real request comes.
        studio.add_url_rule("/origin-probe", "origin_probe", lambda: vars(audit.request_origin()))
        origin = studio.test_client().get("/origin-probe", headers=headers,
                                          environ_base={"REMOTE_ADDR": "10.0.0.5"}).json
        assert origin["ip_address"] == expected
        assert len(origin["user_agent"]) == audit.USER_AGENT_LIMIT


def test_a_negative_proxy_count_is_refused_at_start(make_app):
    from app.errors import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES=-1)


# One transaction with the change ---------------------------------------------------------------
def test_an_entry_commits_with_its_change(app, user):
    with app.app_context():
        repos = repositories(user.tenant_id)
        with repos.transaction():
            entry_id = audit.record(repos, "probe.done", "probe", "p1", actor_id=user.user.id)
            assert db.session.scalar(select(func.count()).select_from(AuditLogEntry)
                                     .where(AuditLogEntry.id == entry_id)) == 1  # in the open transaction
    assert count(app, "probe.done") == 1


def test_a_change_that_raises_leaves_no_entry(app, user):
    with app.app_context():
        repos = repositories(user.tenant_id)
        with pytest.raises(RuntimeError):
            with repos.transaction():
                audit.record(repos, "probe.failed", "probe", "p1", actor_id=user.user.id)
                raise RuntimeError("the change failed after its entry was written")
    assert count(app, "probe.failed") == 0


def test_a_change_the_database_refuses_leaves_no_entry(app, user):
    with app.app_context():
        repos = repositories(user.tenant_id)
        with pytest.raises(ConflictError):
            with repos.transaction():
                audit.record(repos, "member.add", "membership", "duplicate", actor_id=user.user.id)
                # The owner is a member already: the unique (tenant, user) constraint refuses it at commit.
                repos.memberships.session.add(Membership(tenant_id=user.tenant_id, user_id=user.user.id,
                                                         role=Role.MEMBER))
    assert count(app, "member.add") == 0


def test_a_rolled_back_savepoint_takes_its_entry_with_it(app, user):
    with app.app_context():
        repos = repositories(user.tenant_id)
        with repos.transaction():
            audit.record(repos, "probe.kept", actor_id=user.user.id)
            try:
                with repos.transaction():
                    audit.record(repos, "probe.dropped", actor_id=user.user.id)
                    raise ValueError("this block is taken back")
            except ValueError:
                pass
    assert (count(app, "probe.kept"), count(app, "probe.dropped")) == (1, 0)


def test_with_no_transaction_open_the_entry_commits_on_its_own(app, user):
    with app.app_context():
        entry_id = audit.record(repositories(user.tenant_id), "probe.alone", actor_id=user.user.id)
        db.session.rollback()  # nothing left to take back: the entry committed on its own
        assert db.session.get(AuditLogEntry, entry_id).tenant_id == user.tenant_id
    assert count(app, "probe.alone") == 1


# Append-only ---------------------------------------------------------------------------------
def test_entries_cannot_be_changed_or_deleted(app, user):
    with app.app_context():
        repos = repositories(user.tenant_id)
        audit.record(repos, "probe.fixed", actor_id=user.user.id)
        tenant_log = repos.get(AuditLogRepository)
        entry = tenant_log.search(AuditFilter(action="probe.fixed")).items[0]
        for repository in (tenant_log, repos.get(PlatformAuditLog), repos.get(AuditLogWriter)):
            with pytest.raises(RepositoryError, match="append-only"):
                repository.save(entry)
            with pytest.raises(RepositoryError, match="append-only"):
                repository.delete(entry)
        stored = tenant_log.search(AuditFilter(action="probe.fixed")).items[0]
        stored.action = "probe.rewritten"
        with pytest.raises(AppendOnlyError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(tenant_log.search(AuditFilter(action="probe.fixed")).items[0])
        with pytest.raises(AppendOnlyError):
            db.session.flush()
        db.session.rollback()
    assert count(app, "probe.fixed") == 1


def test_a_tenants_log_holds_only_its_own_entries(app, make_user):
    first, second = make_user(), make_user()
    with app.app_context():
        mine = repositories(first.tenant_id).get(AuditLogRepository).search(AuditFilter(), limit=100)
        everyone = repositories().get(PlatformAuditLog).search(AuditFilter(), limit=100)
        only_second = repositories().get(PlatformAuditLog).search(AuditFilter(tenant_id=second.tenant_id))
    assert {entry.tenant_id for entry in mine.items} == {first.tenant_id}
    assert {first.tenant_id, second.tenant_id} <= {entry.tenant_id for entry in everyone.items}
    assert {entry.tenant_id for entry in only_second.items} == {second.tenant_id}
