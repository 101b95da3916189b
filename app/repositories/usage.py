"""A person's AI usage history (seed 003's ai_usage_log), read for billing and analytics.

Rows are written by the metering layer, one per try of a model call, failed ones too. Reading is by
user, across tenants: credits belong to the person, so the history that explains them does.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, delete, func, insert, select

from ..models import UsageLogArchive, UsageLogEntry, UsageSource, UsageStatus
from .base import SystemRepository, as_uuid, operation


@dataclass(frozen=True)
class UsageFilter:
    """Which rows of a user's history to read.

    :param since: rows created at or after this moment.
    :param until: rows created at or before this moment.
    :param status: only calls that ended so.
    :param model: only calls to this model (its name as recorded).
    """

    since: datetime | None = None
    until: datetime | None = None
    status: UsageStatus | None = None
    model: str | None = None


@dataclass(frozen=True)
class UsageTotals:
    """Sums over every row a filter matches (not only the page shown)."""

    #: Model calls: the tries of one call (the same ``call_id``) count once.
    calls: int = 0
    #: Rows: every try of every call.
    tries: int = 0
    tokens_prompt: int = 0
    tokens_completion: int = 0
    tokens_total: int = 0
    credits_charged: int = 0
    cost_usd: Decimal = Decimal("0")
    cost_cents: int = 0
    #: Of ``tokens_total``, those estimated from text (the server reported none): flagged.
    tokens_estimated: int = 0


@dataclass(frozen=True)
class UsagePage:
    items: list[UsageLogEntry] = field(default_factory=list)
    total: int = 0
    totals: UsageTotals = field(default_factory=UsageTotals)


class UsageLogRepository(SystemRepository[UsageLogEntry]):
    """A person's AI usage history.

    System scope: credits belong to the person, not to a tenant, so the history that explains
    them is read by user across every tenant they worked in; each row written carries the
    tenant of the call.
    """

    model = UsageLogEntry

    @operation
    def for_user(self, user_id: Any, usage_filter: UsageFilter | None = None, *, limit: int = 50,
                 offset: int = 0) -> UsagePage:
        """One page of a user's usage, newest first, with totals over all matching rows.

        :param user_id: whose calls.
        :param usage_filter: date range, status and model to narrow the rows to.
        :param limit: rows per page.
        :param offset: rows to skip.
        :returns: the page, the number of matching rows, and their totals.
        """
        owner = as_uuid(user_id)
        if owner is None:
            return UsagePage()
        criteria = self._criteria(owner, usage_filter or UsageFilter())
        items = self.list(*criteria, order_by=[UsageLogEntry.created_at.desc(), UsageLogEntry.id.desc()],
                          limit=limit, offset=offset)
        return UsagePage(items=items, **self._summary(criteria))

    def _criteria(self, owner: Any, usage_filter: UsageFilter) -> list[Any]:
        criteria: list[Any] = [UsageLogEntry.user_id == owner]
        if usage_filter.since is not None:
            criteria.append(UsageLogEntry.created_at >= usage_filter.since)
        if usage_filter.until is not None:
            criteria.append(UsageLogEntry.created_at <= usage_filter.until)
        if usage_filter.status is not None:
            criteria.append(UsageLogEntry.status == usage_filter.status)
        if usage_filter.model:
            criteria.append(UsageLogEntry.model_name == usage_filter.model)
        return criteria

    def _summary(self, criteria: list[Any]) -> dict[str, Any]:
        def total(column: Any) -> Any:
            return func.coalesce(func.sum(column), 0)

        estimated = case((UsageLogEntry.usage_source == UsageSource.ESTIMATED, UsageLogEntry.tokens_total), else_=0)
        row = self.session.execute(
            select(func.count(), func.count(func.distinct(func.coalesce(UsageLogEntry.call_id, UsageLogEntry.id))),
                   total(UsageLogEntry.tokens_prompt), total(UsageLogEntry.tokens_completion),
                   total(UsageLogEntry.tokens_total), total(UsageLogEntry.credits_charged),
                   total(UsageLogEntry.cost_usd), total(UsageLogEntry.cost_cents), total(estimated))
            .select_from(UsageLogEntry).where(*criteria)
        ).one()
        tries, calls, prompt, completion, tokens, credits, cost_usd, cost_cents, tokens_estimated = row
        totals = UsageTotals(calls=int(calls), tries=int(tries), tokens_prompt=int(prompt),
                             tokens_completion=int(completion), tokens_total=int(tokens), credits_charged=int(credits),
                             cost_usd=Decimal(str(cost_usd)).quantize(Decimal("0.000001")), cost_cents=int(cost_cents),
                             tokens_estimated=int(tokens_estimated))
        return {"total": totals.tries, "totals": totals}


def _json_value(value: Any) -> Any:
    """A column's value as JSON keeps it: exact decimals and ids as strings, moments as ISO."""
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


class UsageArchive(SystemRepository[UsageLogArchive]):
    """Usage rows past the retention window, moved out of the live log.

    System scope: the retention schedule's pass moves every tenant's old rows at once, and
    no tenant's request makes it.
    """

    model = UsageLogArchive

    @operation
    def archive_before(self, cutoff: datetime, now: datetime, batch: int = 1000) -> int:
        """Copy up to ``batch`` rows created before ``cutoff`` into the archive (whole, as JSON),
        then delete them from the log, in the caller's transaction; how many moved."""
        columns = UsageLogEntry.__table__.c
        rows = self.session.execute(select(*columns).where(columns.created_at < cutoff)
                                    .order_by(columns.created_at).limit(batch)).mappings().all()
        if not rows:
            return 0
        self.session.execute(insert(UsageLogArchive), [
            {"id": row["id"], "tenant_id": row["tenant_id"], "user_id": row["user_id"],
             "created_at": row["created_at"], "archived_at": now,
             "record": {name: _json_value(value) for name, value in row.items()}} for row in rows])
        self.session.execute(delete(UsageLogEntry).where(columns.id.in_([row["id"] for row in rows]))
                             .execution_options(synchronize_session=False))
        return len(rows)
