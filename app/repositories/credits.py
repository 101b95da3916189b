"""Credit accounts and the holds that reserve them (seed 003's ai_credits).

Not tenant-scoped: a person's credits follow them into every tenant. A model call
reserves its maximum before it is sent and settles its actual usage afterwards; every
change to a balance is one conditional or relative UPDATE, so any number of workers on any
number of machines can never spend more than the balance (see ``tests/repositories/
test_credits.py``, which races threads against one account on PostgreSQL).

Lock order, to stay free of deadlocks on PostgreSQL: a hold row before its account row.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import Clock
from ..errors import NotFoundError
from ..models import (
    CreditAccount,
    CreditHold,
    SubscriptionPeriod,
    SubscriptionStatus,
    SubscriptionTier,
    period_allowance,
)
from .base import Repository, as_uuid, operation
from .cache import RepositoryCache
from .metrics import RepositoryMetrics

ACCOUNTS = CreditAccount.__table__
HOLDS = CreditHold.__table__

#: Used when there is no app to read the settings from (the declared defaults).
FALLBACK_TIER = SubscriptionTier.FREE
FALLBACK_HOLD_TTL = 900


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later, on the month's last day when it is shorter.

    :param moment: an aware datetime.
    :param months: how many months to add (12 for a year).
    :returns: the later datetime.
    """
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _allowance_left() -> Any:
    """``greatest(limit - used, 0)`` written with CASE, which SQLite and PostgreSQL share."""
    limit, used = ACCOUNTS.c.tokens_limit_per_period, ACCOUNTS.c.tokens_used_this_period
    return case((limit > used, limit - used), else_=0)


def _less_reserved(tokens: int) -> Any:
    """``tokens_reserved - tokens``, never below zero (the CHECK constraint's promise)."""
    reserved = ACCOUNTS.c.tokens_reserved
    return case((reserved > tokens, reserved - tokens), else_=0)


class CreditAccountRepository(Repository[CreditAccount]):
    """Accounts, reservations and charges. Methods never commit: the caller's unit of work does.

    :param default_tier: tier of a new account; ``DEFAULT_SUBSCRIPTION_TIER`` by default.
    :param hold_ttl: seconds a hold lives; ``CREDIT_HOLD_TTL`` by default.
    :param clock: when holds expire and periods roll over; the app's clock, which every
        repository receives with the cache, by default.
    """

    model = CreditAccount

    def __init__(self, session: Session, *, metrics: RepositoryMetrics, cache: RepositoryCache,
                 default_tier: SubscriptionTier | str | None = None, hold_ttl: int | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(session, metrics=metrics, cache=cache)
        self.clock = clock or cache.clock
        config = current_app.config if has_app_context() else {}
        self.default_tier = SubscriptionTier(default_tier or config.get("DEFAULT_SUBSCRIPTION_TIER", FALLBACK_TIER))
        self.hold_ttl = int(hold_ttl or config.get("CREDIT_HOLD_TTL", FALLBACK_HOLD_TTL))

    # Accounts ------------------------------------------------------------------------------
    @operation
    def account_for(self, user_id: Any) -> CreditAccount:
        """The user's account as it is now, opened on first use and rolled into the current period.

        :param user_id: the account holder.
        :returns: the account, freshly read.
        :raises NotFoundError: when no such user exists.
        """
        key = self._user_key(user_id)
        account = self._read(key)
        if account is None:
            account = self._open(key)
        return self._roll(account, self.clock.now())

    def _user_key(self, user_id: Any) -> uuid.UUID:
        key = as_uuid(user_id)
        if key is None:
            raise NotFoundError(f"No user with id {user_id}.", {"userId": str(user_id)})
        return key

    def _read(self, user_id: uuid.UUID) -> CreditAccount | None:
        # populate_existing: balances change through UPDATE statements, which the identity
        # map does not see; a loaded account must be refreshed, never served stale.
        statement = select(CreditAccount).where(CreditAccount.user_id == user_id)
        return self.session.scalars(statement.execution_options(populate_existing=True)).first()

    def _open(self, user_id: uuid.UUID) -> CreditAccount:
        now = self.clock.now()
        tier = self.default_tier
        try:
            # Two first calls at once both find no account; the unique user_id lets one
            # insert win. The loser's INSERT fails inside its own SAVEPOINT, which leaves the
            # caller's transaction usable, and it reads the winner's row. (On SQLite, when this
            # is the transaction's first write, pysqlite lets the SAVEPOINT open the transaction
            # and its RELEASE commits the new account early: harmless, opening is idempotent.)
            with self.session.begin_nested():
                self.session.add(CreditAccount(
                    user_id=user_id, subscription_tier=tier, subscription_period=SubscriptionPeriod.MONTHLY,
                    current_period_start=now, current_period_end=add_months(now, 1),
                    tokens_limit_per_period=period_allowance(tier, SubscriptionPeriod.MONTHLY),
                    tokens_used_this_period=0, tokens_reserved=0,
                    credits_bonus=0, tokens_used_total=0,
                ))
                self.session.flush()
        except IntegrityError:
            pass  # taken by a concurrent call, or no such user: the read below tells which
        account = self._read(user_id)
        if account is None:
            raise NotFoundError(f"No user with id {user_id}.", {"userId": str(user_id)})
        return account

    def _roll(self, account: CreditAccount, now: datetime) -> CreditAccount:
        if account.current_period_end > now:
            return account
        months = account.subscription_period.months
        start, end = account.current_period_start, account.current_period_end
        while end <= now:  # a user away for months lands in the period containing now
            start, end = end, add_months(end, months)
        # Conditional on the period still being the one read: of two callers rolling at
        # once, one moves it and the other's UPDATE matches nothing; both then read the same.
        self.session.execute(
            ACCOUNTS.update()
            .where(ACCOUNTS.c.id == account.id, ACCOUNTS.c.current_period_end == account.current_period_end)
            .values(current_period_start=start, current_period_end=end, tokens_used_this_period=0, updated_at=now)
        )
        return self._read(account.user_id)

    @operation
    def tier_of(self, user_id: Any) -> SubscriptionTier | None:
        """The person's tier, read without opening an account (``None`` for none yet)."""
        key = as_uuid(user_id)
        return self.session.scalar(select(CreditAccount.subscription_tier).where(CreditAccount.user_id == key)) \
            if key else None

    @operation
    def grant_bonus(self, user_id: Any, tokens: int) -> CreditAccount:
        """Add bonus tokens (promotions, referrals), spent after the period's allowance.

        :param tokens: how many; at least 1.
        :returns: the account after the grant.
        :raises ValueError: when ``tokens`` is less than 1.
        :raises NotFoundError: when no such user exists.
        """
        if tokens < 1:
            raise ValueError("a bonus is at least 1 token")
        account = self.account_for(user_id)
        self.session.execute(ACCOUNTS.update().where(ACCOUNTS.c.id == account.id)
                             .values(credits_bonus=ACCOUNTS.c.credits_bonus + tokens, updated_at=self.clock.now()))
        return self._read(account.user_id)

    @operation
    def set_tier(self, user_id: Any, tier: SubscriptionTier | str) -> CreditAccount:
        """Move the account to a tier; its per-period limit becomes the tier's (seed 003).

        Usage so far this period is kept, so a downgrade may leave nothing to spend until
        the next period.

        :returns: the account after the change.
        :raises ValueError: when ``tier`` is not a tier.
        :raises NotFoundError: when no such user exists.
        """
        tier = SubscriptionTier(tier)
        account = self.account_for(user_id)
        self.session.execute(ACCOUNTS.update().where(ACCOUNTS.c.id == account.id)
                             .values(subscription_tier=tier,
                                     tokens_limit_per_period=period_allowance(tier, account.subscription_period),
                                     updated_at=self.clock.now()))
        return self._read(account.user_id)

    @operation
    def set_subscription(self, user_id: Any, *, status: SubscriptionStatus | str | None = None,
                         period: SubscriptionPeriod | str | None = None) -> CreditAccount:
        """Change the subscription's status or its billing period.

        A new period (monthly ↔ annual) starts now, with that period's allowance (an annual
        one has twelve months' worth); usage so far is kept, as on a tier change.

        :raises ValueError: for a status or period that is not one.
        :raises NotFoundError: when no such user exists.
        """
        account = self.account_for(user_id)
        now = self.clock.now()
        values: dict[str, Any] = {"updated_at": now}
        if status is not None:
            values["subscription_status"] = SubscriptionStatus(status)
        if period is not None and SubscriptionPeriod(period) != account.subscription_period:
            period = SubscriptionPeriod(period)
            values.update(subscription_period=period, current_period_start=now,
                          current_period_end=add_months(now, period.months),
                          tokens_limit_per_period=period_allowance(account.subscription_tier, period))
        self.session.execute(ACCOUNTS.update().where(ACCOUNTS.c.id == account.id).values(**values))
        return self._read(account.user_id)

    @operation
    def roll_due(self, now: datetime | None = None, batch: int = 500) -> int:
        """Start the new period of every account whose period has ended (the schedule's
        pass; a call also rolls its own account lazily). How many were rolled."""
        now = now or self.clock.now()
        due = list(self.session.scalars(select(CreditAccount).where(CreditAccount.current_period_end <= now)
                                        .order_by(CreditAccount.id).limit(batch)))
        for account in due:
            self._roll(account, now)
        return len(due)

    # Holds ---------------------------------------------------------------------------------
    @operation
    def reserve(self, user_id: Any, tokens: int, *, run_step_id: Any = None, model_name: str | None = None,
                ttl_seconds: int | None = None) -> CreditHold | None:
        """Reserve ``tokens`` before a model call, or refuse when the balance cannot cover them.

        One conditional UPDATE does the check and the reservation together, so concurrent
        callers can never reserve more than the balance. Commit soon after: on PostgreSQL the
        UPDATE holds the account's row lock until the transaction ends.

        :param user_id: whose credits.
        :param tokens: the call's maximum (prompt plus ``max_tokens``).
        :param run_step_id: the step making the call, for the record.
        :param model_name: the model called, for the record.
        :param ttl_seconds: how long the hold lives if nobody settles it (a dead worker);
            ``CREDIT_HOLD_TTL`` by default.
        :returns: the hold, or ``None`` when the balance is too small (nothing is written).
        :raises ValueError: when ``tokens`` is negative.
        :raises NotFoundError: when no such user exists.
        """
        if tokens < 0:
            raise ValueError("cannot reserve a negative number of tokens")
        account = self.account_for(user_id)
        now = self.clock.now()
        available = _allowance_left() + ACCOUNTS.c.credits_bonus - ACCOUNTS.c.tokens_reserved
        reserved = self.session.execute(
            ACCOUNTS.update()
            .where(ACCOUNTS.c.id == account.id, ACCOUNTS.c.subscription_status == SubscriptionStatus.ACTIVE,
                   or_(ACCOUNTS.c.tokens_limit_per_period.is_(None), available >= tokens))
            .values(tokens_reserved=ACCOUNTS.c.tokens_reserved + tokens, updated_at=now)
        )
        if reserved.rowcount != 1:
            return None
        hold = CreditHold(user_id=account.user_id, tokens=tokens, run_step_id=as_uuid(run_step_id),
                          model_name=model_name,
                          expires_at=now + timedelta(seconds=ttl_seconds or self.hold_ttl))
        self.session.add(hold)
        self.session.flush()
        return hold

    @operation
    def settle(self, hold_id: Any, actual_tokens: int) -> int:
        """Release a hold and charge the call's actual usage.

        The period's remaining allowance pays first, then the bonus; usage beyond both is
        counted in the total but not charged (the balance never goes below zero). Settling
        a hold twice, or one that expired and was released, charges nothing.

        :param hold_id: the hold :meth:`reserve` returned.
        :param actual_tokens: what the call really used.
        :returns: the tokens charged (0 when the hold was already settled or never existed).
        :raises ValueError: when ``actual_tokens`` is negative.
        """
        if actual_tokens < 0:
            raise ValueError("actual usage cannot be negative")
        taken = self._take_holds(HOLDS.c.id == as_uuid(hold_id)) if as_uuid(hold_id) else []
        if not taken:
            return 0
        user_id, held = taken[0]
        account = self._read(user_id)
        if account is None:  # the person was deleted (their holds went with them)
            return 0
        account = self._roll(account, self.clock.now())
        # The hold is gone (that DELETE is this transaction's claim to settle it); now lock
        # the account row so the split below is computed from values nobody else changes.
        row = self.session.execute(
            select(ACCOUNTS.c.tokens_limit_per_period, ACCOUNTS.c.tokens_used_this_period,
                   ACCOUNTS.c.credits_bonus).where(ACCOUNTS.c.id == account.id).with_for_update()
        ).one()
        limit, used, bonus = row
        if limit is None:
            from_allowance, from_bonus = actual_tokens, 0
        else:
            from_allowance = min(actual_tokens, max(limit - used, 0))
            from_bonus = min(actual_tokens - from_allowance, bonus)
        self.session.execute(
            ACCOUNTS.update().where(ACCOUNTS.c.id == account.id).values(
                tokens_reserved=_less_reserved(held),
                tokens_used_this_period=ACCOUNTS.c.tokens_used_this_period + from_allowance,
                credits_bonus=ACCOUNTS.c.credits_bonus - from_bonus,
                tokens_used_total=ACCOUNTS.c.tokens_used_total + actual_tokens,
                updated_at=self.clock.now(),
            )
        )
        return from_allowance + from_bonus

    @operation
    def release(self, hold_id: Any) -> None:
        """Give a reservation back unused (the call failed before using anything); idempotent.

        :param hold_id: the hold :meth:`reserve` returned.
        """
        key = as_uuid(hold_id)
        if key is not None:
            self._give_back(self._take_holds(HOLDS.c.id == key))

    @operation
    def release_expired(self, now: datetime | None = None) -> int:
        """Release every hold past its expiry (its worker died mid-call); the reconciler's pass.

        Holds another transaction is settling right now are skipped, not waited for.

        :param now: the time to compare expiries with; the clock's now by default.
        :returns: how many holds were released.
        """
        now = now or self.clock.now()
        expired = (select(HOLDS.c.id).where(HOLDS.c.expires_at <= now).order_by(HOLDS.c.id)
                   .with_for_update(skip_locked=True))
        ids = list(self.session.scalars(expired))
        if not ids:
            return 0
        taken = self._take_holds(HOLDS.c.id.in_(ids))
        self._give_back(taken)
        return len(taken)

    @operation
    def holds_of(self, user_id: Any) -> list[CreditHold]:
        """The user's holds in flight, oldest first."""
        key = as_uuid(user_id)
        if key is None:
            return []
        statement = select(CreditHold).where(CreditHold.user_id == key).order_by(CreditHold.created_at)
        return list(self.session.scalars(statement))

    def _take_holds(self, criterion: Any) -> list[tuple[uuid.UUID, int]]:
        """Delete holds and say whose they were and how many tokens each held.

        The DELETE is the claim: of two transactions settling or releasing one hold, only the
        one whose DELETE removed the row goes on to touch the balance.
        """
        if self.session.get_bind().dialect.delete_returning:
            found = self.session.execute(HOLDS.delete().where(criterion).returning(HOLDS.c.user_id, HOLDS.c.tokens))
            return [(row.user_id, row.tokens) for row in found]
        taken = []
        for hold_id, user_id, tokens in self.session.execute(
                select(HOLDS.c.id, HOLDS.c.user_id, HOLDS.c.tokens).where(criterion)).all():
            if self.session.execute(HOLDS.delete().where(HOLDS.c.id == hold_id)).rowcount == 1:
                taken.append((user_id, tokens))
        return taken

    def _give_back(self, taken: list[tuple[uuid.UUID, int]]) -> None:
        per_user: dict[uuid.UUID, int] = {}
        for user_id, tokens in taken:
            per_user[user_id] = per_user.get(user_id, 0) + tokens
        for user_id in sorted(per_user):  # one order for every transaction: no deadlocks
            self.session.execute(ACCOUNTS.update().where(ACCOUNTS.c.user_id == user_id)
                                 .values(tokens_reserved=_less_reserved(per_user[user_id]),
                                         updated_at=self.clock.now()))
