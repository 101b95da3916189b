"""app/repositories/credits.py: accounts opened on first use, periods that roll, holds that
reserve before a call and settle after, and a balance that racing workers cannot overspend.

Each action runs in an app context and a transaction of its own, as a request or a worker's
job would; balances are read back the same way, as plain dicts.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from app.errors import NotFoundError
from app.models import CreditAccount, CreditHold, SubscriptionPeriod, utcnow
from app.repositories.credits import add_months
from app.runtime import repositories

pytestmark = pytest.mark.timeout(120)

FREE = 10_000


class Ledger:
    """One user's credits, each call in a fresh app context and transaction."""

    def __init__(self, app, user_id: uuid.UUID) -> None:
        self.app = app
        self.user_id = user_id

    def do(self, action: Callable[[Any], Any]) -> Any:
        with self.app.app_context():
            repos = repositories()
            with repos.transaction():
                return action(repos.credit_accounts)

    def balance(self) -> dict[str, Any]:
        def read(accounts) -> dict[str, Any]:
            account = accounts.account_for(self.user_id)
            return {"id": account.id, "tier": account.subscription_tier.value, "limit": account.tokens_limit_per_period,
                    "used": account.tokens_used_this_period, "reserved": account.tokens_reserved,
                    "bonus": account.credits_bonus, "total": account.tokens_used_total,
                    "remaining": account.credits_remaining, "start": account.current_period_start,
                    "end": account.current_period_end}
        return self.do(read)

    def reserve(self, tokens: int, **options: Any) -> uuid.UUID | None:
        def reserve(accounts) -> uuid.UUID | None:
            hold = accounts.reserve(self.user_id, tokens, **options)
            return hold and hold.id
        return self.do(reserve)

    def settle(self, hold_id: Any, actual: int) -> int:
        return self.do(lambda accounts: accounts.settle(hold_id, actual))

    def release(self, hold_id: Any) -> None:
        self.do(lambda accounts: accounts.release(hold_id))

    def holds(self) -> list[tuple[uuid.UUID, int]]:
        return self.do(lambda accounts: [(hold.id, hold.tokens) for hold in accounts.holds_of(self.user_id)])

    def change(self, **values: Any) -> None:
        """Set account columns directly (a test's way to age a period or set usage)."""
        def write(accounts) -> None:
            account = accounts.account_for(self.user_id)
            for name, value in values.items():
                setattr(account, name, value)
            accounts.save(account)
        self.do(write)


@pytest.fixture
def ledger(app, user) -> Ledger:
    return Ledger(app, user.user.id)


def in_threads(app, count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(index)`` on ``count`` threads released together, each in its own app
    context (so its own session and database connection); re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    if failures:
        raise failures[0]
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (a deadlock?)"
    return results


# Accounts ----------------------------------------------------------------------------------------
def test_a_first_look_opens_a_free_account_for_this_month(ledger, row_count):
    before = utcnow()

    balance = ledger.balance()

    assert (balance["tier"], balance["limit"], balance["used"], balance["remaining"]) == ("free", FREE, 0, FREE)
    assert before <= balance["start"] <= utcnow()
    assert balance["end"] == add_months(balance["start"], 1)
    assert ledger.balance()["id"] == balance["id"]
    assert row_count(CreditAccount) == 1


def test_a_new_account_takes_the_configured_default_tier(make_app, user):
    ledger = Ledger(make_app(DEFAULT_SUBSCRIPTION_TIER="creator"), user.user.id)

    assert (ledger.balance()["tier"], ledger.balance()["limit"]) == ("creator", 200_000)


def test_an_unknown_user_has_no_account(app, row_count):
    with app.app_context(), pytest.raises(NotFoundError):
        repositories().credit_accounts.account_for(uuid.uuid4())
    with app.app_context(), pytest.raises(NotFoundError):
        repositories().credit_accounts.account_for("not-an-id")
    assert row_count(CreditAccount) == 0


def test_concurrent_first_looks_open_one_account(app, make_user, row_count):
    user_id = make_user().user.id

    ids = in_threads(app, 6, lambda _index: Ledger(app, user_id).balance()["id"])

    assert len(set(ids)) == 1
    assert row_count(CreditAccount) == 1


def test_a_finished_period_rolls_forward_and_usage_starts_again(ledger):
    start = utcnow() - timedelta(days=40)
    ledger.change(current_period_start=start, current_period_end=add_months(start, 1), tokens_used_this_period=9_000,
                  tokens_used_total=9_000)

    balance = ledger.balance()

    assert balance["start"] == add_months(start, 1)
    assert balance["end"] == add_months(start, 2)
    assert (balance["used"], balance["remaining"], balance["total"]) == (0, FREE, 9_000)


def test_after_months_away_the_period_is_the_one_containing_now(ledger):
    start = datetime(2020, 1, 31, 12, 0, tzinfo=timezone.utc)
    ledger.change(current_period_start=start, current_period_end=add_months(start, 1), tokens_used_this_period=50)

    balance = ledger.balance()

    assert balance["start"] <= utcnow() < balance["end"]
    assert balance["end"] - balance["start"] <= timedelta(days=31)
    assert balance["used"] == 0


def test_an_annual_period_rolls_by_a_year(ledger):
    start = utcnow() - timedelta(days=400)
    ledger.change(subscription_period=SubscriptionPeriod.ANNUAL, current_period_start=start,
                  current_period_end=add_months(start, 12), tokens_used_this_period=10)

    balance = ledger.balance()

    assert (balance["start"], balance["end"]) == (add_months(start, 12), add_months(start, 24))


def test_months_end_on_the_last_day_of_shorter_months():
    assert add_months(datetime(2026, 1, 31, tzinfo=timezone.utc), 1) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2024, 2, 29, tzinfo=timezone.utc), 12) == datetime(2025, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 12, 15, tzinfo=timezone.utc), 1) == datetime(2027, 1, 15, tzinfo=timezone.utc)


def test_a_tier_sets_the_limit_and_enterprise_is_unlimited(ledger):
    ledger.do(lambda accounts: accounts.set_tier(ledger.user_id, "professional"))
    assert (ledger.balance()["tier"], ledger.balance()["limit"]) == ("professional", 750_000)

    ledger.do(lambda accounts: accounts.set_tier(ledger.user_id, "enterprise"))
    balance = ledger.balance()
    assert (balance["limit"], balance["remaining"]) == (None, None)
    with pytest.raises(ValueError):
        ledger.do(lambda accounts: accounts.set_tier(ledger.user_id, "platinum"))


def test_a_bonus_adds_to_what_can_be_spent(ledger):
    ledger.do(lambda accounts: accounts.grant_bonus(ledger.user_id, 2_500))

    assert (ledger.balance()["bonus"], ledger.balance()["remaining"]) == (2_500, FREE + 2_500)
    with pytest.raises(ValueError):
        ledger.do(lambda accounts: accounts.grant_bonus(ledger.user_id, 0))


# Holds -------------------------------------------------------------------------------------------
def test_a_reservation_holds_tokens_until_settled(ledger):
    hold_id = ledger.reserve(4_000, model_name="openai:gpt-4o-mini")

    assert ledger.balance()["reserved"] == 4_000
    assert ledger.balance()["remaining"] == FREE - 4_000
    assert ledger.holds() == [(hold_id, 4_000)]

    assert ledger.settle(hold_id, 1_234) == 1_234

    balance = ledger.balance()
    assert (balance["reserved"], balance["used"], balance["total"]) == (0, 1_234, 1_234)
    assert balance["remaining"] == FREE - 1_234
    assert ledger.holds() == []


def test_a_reservation_the_balance_cannot_cover_is_refused_and_writes_nothing(ledger, row_count):
    first = ledger.reserve(9_000)

    assert ledger.reserve(1_001) is None
    assert ledger.balance()["reserved"] == 9_000
    assert row_count(CreditHold) == 1
    assert ledger.reserve(1_000) is not None  # exactly what is left still fits
    assert ledger.balance()["remaining"] == 0
    assert first is not None


def test_the_bonus_pays_once_the_allowance_is_spent(ledger):
    ledger.change(tokens_used_this_period=FREE - 100)
    ledger.do(lambda accounts: accounts.grant_bonus(ledger.user_id, 1_000))
    hold_id = ledger.reserve(1_100)
    assert hold_id is not None

    assert ledger.settle(hold_id, 600) == 600

    balance = ledger.balance()
    assert (balance["used"], balance["bonus"], balance["remaining"]) == (FREE, 500, 500)


def test_usage_beyond_allowance_and_bonus_is_counted_but_never_drives_the_balance_negative(ledger):
    ledger.do(lambda accounts: accounts.grant_bonus(ledger.user_id, 200))
    hold_id = ledger.reserve(10_200)

    assert ledger.settle(hold_id, 12_000) == 10_200  # the model ran past its max_tokens

    balance = ledger.balance()
    assert (balance["used"], balance["bonus"], balance["remaining"], balance["total"]) == (FREE, 0, 0, 12_000)


def test_settling_twice_or_a_missing_hold_charges_nothing(ledger):
    hold_id = ledger.reserve(500)

    assert ledger.settle(hold_id, 400) == 400
    assert ledger.settle(hold_id, 400) == 0
    assert ledger.settle(uuid.uuid4(), 400) == 0
    assert ledger.settle("not-an-id", 400) == 0
    assert (ledger.balance()["used"], ledger.balance()["total"]) == (400, 400)


def test_a_released_hold_gives_its_tokens_back_once(ledger):
    kept = ledger.reserve(1_000)
    failed = ledger.reserve(3_000)

    ledger.release(failed)
    ledger.release(failed)

    balance = ledger.balance()
    assert (balance["reserved"], balance["used"], balance["remaining"]) == (1_000, 0, FREE - 1_000)
    assert ledger.holds() == [(kept, 1_000)]
    assert ledger.settle(failed, 3_000) == 0


def test_holds_of_dead_workers_expire_and_are_released(ledger, clock):
    stale = ledger.reserve(2_000, ttl_seconds=5)
    fresh = ledger.reserve(1_000)
    assert ledger.do(lambda accounts: accounts.release_expired()) == 0  # not yet: its worker may be at work

    clock.advance(5)
    released = ledger.do(lambda accounts: accounts.release_expired())

    assert released == 1
    assert ledger.holds() == [(fresh, 1_000)]
    assert ledger.balance()["reserved"] == 1_000
    assert ledger.settle(stale, 2_000) == 0  # its worker woke up too late: nothing is charged
    assert ledger.do(lambda accounts: accounts.release_expired()) == 0


def test_a_hold_lives_for_the_configured_time(make_app, user, clock):
    ledger = Ledger(make_app(CREDIT_HOLD_TTL=42), user.user.id)

    ledger.reserve(10)

    expires = ledger.do(lambda accounts: accounts.holds_of(ledger.user_id)[0].expires_at)
    assert expires == clock.now() + timedelta(seconds=42)


def test_an_unlimited_account_reserves_anything_and_is_charged_in_full(ledger):
    ledger.do(lambda accounts: accounts.set_tier(ledger.user_id, "enterprise"))
    hold_id = ledger.reserve(5_000_000)

    assert hold_id is not None
    assert ledger.settle(hold_id, 4_000_000) == 4_000_000
    balance = ledger.balance()
    assert (balance["used"], balance["reserved"], balance["remaining"]) == (4_000_000, 0, None)


def test_a_negative_amount_is_a_programming_error(ledger):
    with pytest.raises(ValueError):
        ledger.reserve(-1)
    hold_id = ledger.reserve(10)
    with pytest.raises(ValueError):
        ledger.settle(hold_id, -5)
    assert ledger.balance()["reserved"] == 10


# Racing workers ----------------------------------------------------------------------------------
SIZES = (55, 70, 90, 130, 180, 250, 333, 410)
ATTEMPTS = 40


def test_racing_workers_never_reserve_more_than_the_balance(app, ledger):
    """Eight threads, each with its own connection, reserve 40 times at once against one free
    balance (about six times what it holds), then all of them settle every hold at once.

    Meant for PostgreSQL, where row locks and READ COMMITTED re-checks are what is under test
    (a read-then-write version of ``reserve`` reserves over 50,000 tokens here); true on
    SQLite too, which lets one writer in at a time.
    """
    ledger.balance()  # open the account, so the race is about the balance alone

    def reserve_many(index: int) -> list[tuple[uuid.UUID, int]]:
        size, won = SIZES[index], []
        for _ in range(ATTEMPTS):
            hold_id = ledger.reserve(size)
            if hold_id is not None:
                won.append((hold_id, size))
        return won

    started = time.perf_counter()
    won = [hold for holds in in_threads(app, len(SIZES), reserve_many) for hold in holds]
    reserving = time.perf_counter() - started
    reserved = sum(tokens for _, tokens in won)

    balance = ledger.balance()
    assert reserved <= FREE
    assert balance["reserved"] == reserved
    assert sorted(ledger.holds()) == sorted(won)
    assert balance["remaining"] == FREE - reserved
    assert balance["remaining"] < min(SIZES)  # every thread kept trying until nothing it wanted fit
    if balance["remaining"]:
        assert ledger.reserve(balance["remaining"] + 1) is None

    # Every thread settles every hold, in its own order: each hold must be charged once.
    actual = {hold_id: tokens - tokens // 3 for hold_id, tokens in won}

    def settle_all(index: int) -> int:
        order = list(actual)
        random.Random(index).shuffle(order)
        return sum(ledger.settle(hold_id, actual[hold_id]) for hold_id in order)

    started = time.perf_counter()
    charged = sum(in_threads(app, len(SIZES), settle_all))
    settling = time.perf_counter() - started

    balance = ledger.balance()
    assert charged == sum(actual.values())
    assert (balance["reserved"], balance["used"], balance["total"]) == (0, charged, charged)
    assert balance["remaining"] == FREE - charged
    assert ledger.holds() == []
    print(f"\nrace: {len(SIZES)} threads x {ATTEMPTS} reserves ({len(SIZES) * ATTEMPTS} attempts asking "
          f"{sum(SIZES) * ATTEMPTS:,} tokens of {FREE:,}): {len(won)} holds, {reserved:,} reserved, "
          f"{FREE - reserved} left, {reserving:.2f}s; settle: {len(SIZES)} threads x {len(won)} holds, "
          f"{charged:,} charged once each, {settling:.2f}s")


def test_reserving_settling_and_expiring_at_once_keeps_the_books_exact(app, ledger, clock):
    """Reservers, settlers and the reconciler's expiry pass race: no deadlock (holds are
    locked before accounts, accounts in one order), no lost update. PostgreSQL and SQLite."""
    ledger.do(lambda accounts: accounts.grant_bonus(ledger.user_id, 5_000))
    charged_by: dict[int, int] = {}

    def work(index: int) -> None:
        if index == 0:  # the reconciler, over and over, while time passes: dead workers' holds expire
            for _ in range(30):
                clock.advance(0.1)
                ledger.do(lambda accounts: accounts.release_expired())
            return
        total = 0
        for round_ in range(25):
            dies = round_ % 5 == 0  # its worker "dies": the hold is left to expire
            hold_id = ledger.reserve(100, ttl_seconds=1 if dies else 900)
            if hold_id is not None and not dies:
                total += ledger.settle(hold_id, 60)
        charged_by[index] = total

    in_threads(app, 6, work)
    clock.advance(1)  # the last dead worker's hold has expired too
    ledger.do(lambda accounts: accounts.release_expired())

    balance = ledger.balance()
    charged = sum(charged_by.values())
    assert charged == 5 * 20 * 60  # five workers, twenty settled calls each, all covered
    assert (balance["reserved"], balance["used"], balance["bonus"], balance["total"]) == (0, charged, 5_000, charged)
    assert ledger.holds() == []
