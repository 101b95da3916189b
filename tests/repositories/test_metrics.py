"""app/repositories/metrics.py: calls, errors and timings per (entity, operation)."""

from __future__ import annotations

import pytest

from app.errors import RepositoryError
from app.models import OutboxMessage
from app.repositories import RepositoryMetrics
from app.runtime import current_state, repositories


def test_calls_errors_and_timings_are_kept_per_entity_and_operation():
    metrics = RepositoryMetrics()
    metrics.record("User", "get", 2.0, failed=False)
    metrics.record("User", "get", 4.0, failed=True)
    metrics.record("Tenant", "get", 1.0, failed=False)

    stats = metrics.get("User", "get")
    assert (stats.calls, stats.errors, stats.total_ms, stats.max_ms, stats.mean_ms) == (2, 1, 6.0, 4.0, 3.0)
    assert metrics.get("Tenant", "get").calls == 1
    assert metrics.get("Nothing", "get").calls == 0


def test_snapshot_lists_the_busiest_operations_first():
    metrics = RepositoryMetrics()
    metrics.record("Tenant", "get", 1.0, failed=False)
    for _ in range(2):
        metrics.record("User", "find_by_email", 0.5, failed=False)

    assert metrics.snapshot() == [
        {"entity": "User", "operation": "find_by_email", "calls": 2, "errors": 0, "total_ms": 1.0,
         "mean_ms": 0.5, "max_ms": 0.5},
        {"entity": "Tenant", "operation": "get", "calls": 1, "errors": 0, "total_ms": 1.0,
         "mean_ms": 1.0, "max_ms": 1.0},
    ]


def test_a_snapshot_is_a_copy_the_app_keeps_updating_apart_from():
    metrics = RepositoryMetrics()
    metrics.record("User", "get", 1.0, failed=False)
    before = metrics.get("User", "get")
    metrics.record("User", "get", 1.0, failed=False)

    assert (before.calls, metrics.get("User", "get").calls) == (1, 2)


def test_repository_calls_are_counted_in_the_apps_metrics(app, user):
    metrics = current_state(app).metrics
    before = metrics.get("User", "find_by_email").calls

    with app.app_context():
        users = repositories().users
        users.find_by_email(user.email)
        users.find_by_email("nobody@example.com")

    stats = metrics.get("User", "find_by_email")
    assert stats.calls - before == 2
    assert stats.errors == 0
    assert stats.max_ms >= 0


def test_a_failed_operation_counts_as_an_error(app):
    metrics = current_state(app).metrics
    before = metrics.get("OutboxMessage", "add")

    with app.app_context():
        repos = repositories()
        with pytest.raises(RepositoryError), repos.transaction():
            repos.outbox.add(OutboxMessage(kind="note", to_address="a@example.com", subject=None, body="x"))

    after = metrics.get("OutboxMessage", "add")
    assert (after.calls - before.calls, after.errors - before.errors) == (1, 1)


def test_each_app_keeps_its_own_metrics(make_app):
    first, second = make_app(), make_app()
    with first.app_context():
        repositories().users.count()

    assert current_state(first).metrics.get("User", "count").calls == 1
    assert current_state(second).metrics.get("User", "count").calls == 0
