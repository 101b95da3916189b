"""Subscriptions enforced (issue 14): a canceled, expired or paused subscription spends no
platform credits (402 SUBSCRIPTION_INACTIVE before the call), while the person's own key and
the offline model still work; an annual period has twelve months' allowance; a balance under
a tenth of the allowance warns once a period."""

from __future__ import annotations

import pytest

from app.chat_server import completion_body
from app.models import Notification, OutboxMessage, SubscriptionPeriod, SubscriptionStatus
from app.repositories.credits import add_months


@pytest.fixture
def app(make_app, chat_server):
    chat_server.reply((200, completion_body("Ahoy.", prompt_tokens=6, completion_tokens=2)))
    return make_app(OPENAI_BASE_URL=chat_server.url, OPENAI_API_KEY="sk-platform-key-0000", PROVIDER_MAX_RETRIES=0)


def set_status(app_repos, user, status) -> None:
    with app_repos() as repos:
        with repos.transaction():
            repos.credit_accounts.set_subscription(user.user.id, status=status)


def call(api_client, model="openai:gpt-4o-mini"):
    return api_client.post("/api/completions", json={"model": model, "prompt": "Say ahoy.", "maxTokens": 20})


@pytest.mark.parametrize("status", ["canceled", "expired", "paused"])
def test_an_inactive_subscription_spends_no_platform_credits(api_client, app_repos, user, expect_error,
                                                             chat_server, status):
    set_status(app_repos, user, status)

    error = expect_error(call(api_client), 402, "SUBSCRIPTION_INACTIVE")
    assert error["details"]["status"] == status
    assert chat_server.requests == []  # refused before anything was sent
    assert call(api_client, "offline:writer").status_code == 200  # the offline model still works

    set_status(app_repos, user, "active")
    assert call(api_client).status_code == 200


def test_an_inactive_subscription_still_calls_on_the_persons_own_key(api_client, app_repos, user, chat_server):
    set_status(app_repos, user, "paused")
    added = api_client.post("/api/account/provider-keys", json={"provider": "openai", "key": "sk-my-own-key-1234"})
    assert added.status_code == 201, added.get_data(as_text=True)

    assert call(api_client).status_code == 200
    assert chat_server.requests[0]["headers"]["Authorization"] == "Bearer sk-my-own-key-1234"


def test_an_annual_period_has_twelve_months_allowance(app_repos, user):
    with app_repos() as repos:
        with repos.transaction():
            monthly = repos.credit_accounts.account_for(user.user.id).tokens_limit_per_period
            annual = repos.credit_accounts.set_subscription(user.user.id, period=SubscriptionPeriod.ANNUAL)
        assert monthly == 10_000 and annual.tokens_limit_per_period == 120_000
        assert annual.current_period_end == add_months(annual.current_period_start, 12)
        with repos.transaction():
            moved = repos.credit_accounts.set_tier(user.user.id, "creator")
        assert moved.tokens_limit_per_period == 12 * 200_000


def test_the_rollover_schedule_starts_every_due_period(app_repos, make_user, clock):
    people = [make_user(), make_user()]
    with app_repos() as repos:
        with repos.transaction():
            for person in people:
                repos.credit_accounts.account_for(person.user.id)
                hold = repos.credit_accounts.reserve(person.user.id, 100)
                repos.credit_accounts.settle(hold.id, 100)
    clock.advance(32 * 24 * 3600)
    with app_repos() as repos:
        with repos.transaction():
            assert repos.credit_accounts.roll_due() == 2
            assert repos.credit_accounts.roll_due() == 0  # nothing is due twice
        for person in people:
            account = repos.credit_accounts.account_for(person.user.id)
            assert account.tokens_used_this_period == 0 and account.current_period_end > clock.now()


def test_falling_under_a_tenth_warns_once_a_period(api_client, app_repos, user, chat_server, clock):
    with app_repos() as repos:
        with repos.transaction():
            repos.credit_accounts.account_for(user.user.id)
            hold = repos.credit_accounts.reserve(user.user.id, 8_990)  # the free tier allows 10,000
            repos.credit_accounts.settle(hold.id, 8_990)

    assert call(api_client).status_code == 200  # 8 more: 1,002 left, still over a tenth
    assert warnings(app_repos, user) == 0
    chat_server.reply((200, completion_body("Ahoy.", prompt_tokens=6, completion_tokens=4)))
    assert call(api_client).status_code == 200  # 10 more: 992 left
    assert call(api_client).status_code == 200
    assert warnings(app_repos, user) == 1
    with app_repos() as repos:
        mailed = repos.outbox.list(OutboxMessage.to_address == user.email.lower(),
                                   OutboxMessage.kind == "notification.low_credits")
        assert len(mailed) == 1 and "992 of this period's 10,000 tokens are left" in mailed[0].body

    clock.advance(32 * 24 * 3600)  # a new period, spent down again: warned again
    with app_repos() as repos:
        with repos.transaction():
            hold = repos.credit_accounts.reserve(user.user.id, 9_500)
            repos.credit_accounts.settle(hold.id, 9_500)
    assert call(api_client).status_code == 200
    assert warnings(app_repos, user) == 2


def warnings(app_repos, user) -> int:
    with app_repos() as repos:
        return repos.notifications.count(Notification.user_id == user.user.id, Notification.type == "low_credits")


def test_the_statuses_are_the_seeds(app_repos):
    assert {status.value for status in SubscriptionStatus} == {"active", "canceled", "expired", "paused"}
