"""app/retention.py: the purge removes what is due — expired notifications, accounts deleted
more than 30 days ago, usage rows over a year old (archived whole) — and nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from app.models import KeySource, Notification, UsageLogArchive, UsageLogEntry, UsageStatus, User, utcnow
from app.notifications import write_notification
from app.retention import purge
from app.runtime import current_state, repositories


def usage_row(tenant_id, user_id, created_at) -> UsageLogEntry:
    return UsageLogEntry(tenant_id=tenant_id, user_id=user_id, model_name="openai:gpt-4o-mini", provider="openai",
                         key_source=KeySource.PLATFORM, tokens_prompt=5, tokens_completion=3, tokens_total=8,
                         cost_usd=Decimal("0.0000123456"), status=UsageStatus.SUCCESS, created_at=created_at)


def test_the_purge_removes_what_is_due_and_nothing_else(app, make_user, clock):
    keep, gone, recent = make_user(), make_user(), make_user()
    now = clock.now()
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            write_notification(repos, now - timedelta(days=91), keep.user.id, "comment", "Old")
            write_notification(repos, now - timedelta(days=89), keep.user.id, "comment", "Recent")
            write_notification(repos, now, keep.user.id, "comment", "Short-lived", expires_at=now - timedelta(seconds=1))
            repos.users.get(gone.user.id).deleted_at = now - timedelta(days=31)
            repos.users.get(recent.user.id).deleted_at = now - timedelta(days=29)
            old = repos.usage_log.add(usage_row(keep.tenant_id, keep.user.id, now - timedelta(days=366)))
            repos.usage_log.add(usage_row(keep.tenant_id, keep.user.id, now - timedelta(days=364)))
            old_id = old.id

        report = purge(repositories(), now)

        assert report.as_dict() == {"notifications": 2, "users": 1, "usage_archived": 1}
        repos = repositories()
        assert [n.title for n in repos.notifications.list(Notification.user_id == keep.user.id)] == ["Recent"]
        assert repos.session.get(User, gone.user.id) is None
        assert repos.session.get(User, recent.user.id) is not None  # still in its recovery window
        assert [row.created_at for row in repos.usage_log.list()] == [now - timedelta(days=364)]
        archived = repos.session.get(UsageLogArchive, old_id)
        assert archived.record["cost_usd"] == "0.0000123456" and archived.record["tokens_total"] == 8
        assert archived.record["status"] == "success" and uuid.UUID(archived.record["tenant_id"]) == keep.tenant_id
        assert archived.archived_at == now

        assert purge(repositories(), now).as_dict() == {"notifications": 0, "users": 0, "usage_archived": 0}


def test_the_purge_runs_as_its_scheduled_job_on_a_worker(app, make_user, run_jobs):
    person = make_user()
    with app.app_context():
        repos = repositories()
        now = utcnow()
        with repos.transaction():
            write_notification(repos, now, person.user.id, "comment", "Expired", expires_at=now - timedelta(days=1))
            write_notification(repos, now, person.user.id, "comment", "Current")
        current_state().enqueue("app.jobs.purge_retained")
    assert run_jobs() >= 1
    with app.app_context():
        assert [n.title for n in repositories().notifications.list(Notification.user_id == person.user.id)] == \
            ["Current"]
