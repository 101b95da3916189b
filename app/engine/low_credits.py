"""The low-credits warning: a person whose balance falls under a tenth of their period's
allowance is told once in that period (seed 003: ``low_credits``), in the transaction that
spent the tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ..notifications import write_notification
from ..repositories import Repositories

KIND = "low_credits"
#: Under this share of the period's allowance left, the person is warned.
THRESHOLD = 0.10


def warn_when_low(repos: Repositories, now: datetime, user_id: uuid.UUID, mailer: Any) -> bool:
    """Warn the person if their balance just fell under :data:`THRESHOLD` of the allowance and
    they were not warned this period; whether a warning was written.

    Called after a settle, whose row lock on the account (PostgreSQL) orders two workers
    spending the same account: the second sees the first's warning once that commits.
    """
    account = repos.credit_accounts.account_for(user_id)
    limit = account.tokens_limit_per_period
    if not limit:
        return False  # unlimited (or nothing to fall from)
    left = max(limit - account.tokens_used_this_period, 0) + account.credits_bonus
    if left >= limit * THRESHOLD:
        return False
    if repos.notifications.exists_since(user_id, KIND, str(account.id), account.current_period_start):
        return False
    write_notification(
        repos, now, user_id, KIND, "Your credits are running low",
        f"{left:,} of this period's {limit:,} tokens are left; the period ends "
        f"{account.current_period_end:%Y-%m-%d}. Add credits, change tier, or add your own provider key.",
        related_entity_type="credit_account", related_entity_id=str(account.id), action_url="/account/credits",
        action_label="See your credits", priority="high", mailer=mailer)
    return True
