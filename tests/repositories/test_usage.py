"""app/repositories/usage.py: a person's usage history, newest first, filtered and paged,
with totals over everything the filters match."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from app.models import KeySource, UsageLogEntry, UsageStatus
from app.repositories import UsageFilter
from app.runtime import repositories

DAY = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


def entry(account, *, at: datetime, model: str = "openai:gpt-4o-mini", status: UsageStatus = UsageStatus.SUCCESS,
          prompt: int = 100, completion: int = 50, cost: str = "0.000120", tenant_id=None) -> UsageLogEntry:
    return UsageLogEntry(
        tenant_id=tenant_id or account.tenant_id, user_id=account.user.id, model_name=model,
        provider=model.split(":")[0], key_source=KeySource.PLATFORM, tokens_prompt=prompt, tokens_completion=completion,
        tokens_total=prompt + completion, credits_charged=prompt + completion, cost_usd=Decimal(cost),
        cost_cents=0, status=status, response_time_ms=800, created_at=at,
    )


def record(app, *entries: UsageLogEntry) -> None:
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.usage_log.add_all(entries)


def test_history_is_newest_first_and_only_the_users_own(app, make_user):
    ada, bob = make_user(name="Ada"), make_user(name="Bob")
    record(app, entry(ada, at=DAY), entry(ada, at=DAY + timedelta(hours=2), model="anthropic:claude-sonnet-4"),
           entry(bob, at=DAY + timedelta(hours=1)))

    with app.app_context():
        page = repositories().usage_log.for_user(ada.user.id)
        models = [item.model_name for item in page.items]

    assert models == ["anthropic:claude-sonnet-4", "openai:gpt-4o-mini"]
    assert page.total == 2


def test_history_spans_every_tenant_the_user_acted_in(app, make_user):
    ada, bob = make_user(name="Ada"), make_user(name="Bob")
    record(app, entry(ada, at=DAY), entry(ada, at=DAY, tenant_id=bob.tenant_id))

    with app.app_context():
        page = repositories().usage_log.for_user(ada.user.id)

    assert page.total == 2


def test_filters_narrow_the_rows_and_the_totals_alike(app, user):
    record(app,
           entry(user, at=DAY - timedelta(days=3), prompt=1_000),
           entry(user, at=DAY, prompt=200, cost="0.001000"),
           entry(user, at=DAY + timedelta(hours=1), status=UsageStatus.FAILED, prompt=10, completion=0, cost="0"),
           entry(user, at=DAY + timedelta(hours=2), model="anthropic:claude-sonnet-4", prompt=300, cost="0.002500"))

    with app.app_context():
        usage = repositories().usage_log
        window = UsageFilter(since=DAY - timedelta(days=1), until=DAY + timedelta(days=1))
        in_range = usage.for_user(user.user.id, window)
        failed = usage.for_user(user.user.id, UsageFilter(status=UsageStatus.FAILED))
        claude = usage.for_user(user.user.id, UsageFilter(model="anthropic:claude-sonnet-4"))
        nothing = usage.for_user(user.user.id, UsageFilter(model="openai:gpt-5"))

    assert in_range.total == 3
    assert in_range.totals.tokens_total == 250 + 10 + 350
    assert in_range.totals.cost_usd == Decimal("0.003500")
    assert (failed.total, failed.items[0].status) == (1, UsageStatus.FAILED)
    assert (claude.total, claude.totals.tokens_prompt, claude.totals.tokens_completion) == (1, 300, 50)
    assert (nothing.total, nothing.items, nothing.totals.calls, nothing.totals.cost_usd) == (0, [], 0, Decimal("0"))


def test_a_page_shows_some_rows_and_totals_cover_them_all(app, user):
    record(app, *(entry(user, at=DAY + timedelta(minutes=index), prompt=index) for index in range(1, 8)))

    with app.app_context():
        page = repositories().usage_log.for_user(user.user.id, limit=3, offset=3)

    assert [item.tokens_prompt for item in page.items] == [4, 3, 2]
    assert page.total == 7
    assert page.totals.calls == 7
    assert page.totals.tokens_prompt == sum(range(1, 8))
    assert page.totals.credits_charged == sum(range(1, 8)) + 7 * 50
