"""AI credits per user (seed 003's ai_credits), and the holds that reserve them.

A call reserves its maximum before it is sent (a :class:`CreditHold` plus
``tokens_reserved``) and settles the actual usage afterwards, so two workers racing can never
spend more than the balance. A hold whose worker died expires and the reconciler frees it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, Model, Timestamps, UTCDateTime, UUIDPrimaryKey
from .tenant import enum_column


class SubscriptionTier(str, enum.Enum):
    FREE = "free"
    CREATOR = "creator"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"

    @property
    def tokens_per_period(self) -> int | None:
        """Seed 003's tier limits, tokens a month; ``None`` is unlimited."""
        return TIER_LIMITS[self]


TIER_LIMITS: dict[SubscriptionTier, int | None] = {
    SubscriptionTier.FREE: 10_000,
    SubscriptionTier.CREATOR: 200_000,
    SubscriptionTier.PROFESSIONAL: 750_000,
    SubscriptionTier.ENTERPRISE: None,
}


class SubscriptionStatus(str, enum.Enum):
    ACTIVE = "active"
    CANCELED = "canceled"
    EXPIRED = "expired"
    PAUSED = "paused"


class SubscriptionPeriod(str, enum.Enum):
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        return 12 if self is SubscriptionPeriod.ANNUAL else 1


def period_allowance(tier: SubscriptionTier, period: SubscriptionPeriod) -> int | None:
    """Tokens a period allows: the tier's monthly limit times the period's months (an annual
    plan has twelve months' allowance for its year); ``None`` is unlimited."""
    monthly = TIER_LIMITS[tier]
    return None if monthly is None else monthly * period.months


#: Statuses under which platform credits may be spent.
SPENDING_STATUSES = frozenset({SubscriptionStatus.ACTIVE})


class CreditAccount(UUIDPrimaryKey, Timestamps, Model):
    """Not tenant-scoped: a person's credits follow them into every tenant (seed 003)."""

    __tablename__ = "credit_accounts"
    __table_args__ = (
        CheckConstraint("tokens_used_this_period >= 0", name="tokens_used_non_negative"),
        CheckConstraint("tokens_reserved >= 0", name="tokens_reserved_non_negative"),
        CheckConstraint("credits_bonus >= 0", name="credits_bonus_non_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                               unique=True)
    subscription_tier: Mapped[SubscriptionTier] = mapped_column(
        enum_column(SubscriptionTier, "subscription_tier"), nullable=False, default=SubscriptionTier.FREE)
    subscription_status: Mapped[SubscriptionStatus] = mapped_column(
        enum_column(SubscriptionStatus, "subscription_status"), nullable=False, default=SubscriptionStatus.ACTIVE)
    subscription_period: Mapped[SubscriptionPeriod] = mapped_column(
        enum_column(SubscriptionPeriod, "subscription_period"), nullable=False, default=SubscriptionPeriod.MONTHLY)
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: ``None`` is unlimited (enterprise).
    tokens_limit_per_period: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_used_this_period: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_reserved: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Promotion and referral tokens; spent after the period's allowance, never reset.
    credits_bonus: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_used_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    @property
    def unlimited(self) -> bool:
        return self.tokens_limit_per_period is None

    @property
    def credits_remaining(self) -> int | None:
        """Tokens that can still be reserved; ``None`` when unlimited."""
        if self.unlimited:
            return None
        allowance = max(0, self.tokens_limit_per_period - self.tokens_used_this_period)
        return allowance + self.credits_bonus - self.tokens_reserved


class CreditHold(UUIDPrimaryKey, CreatedAt, Model):
    """Tokens reserved for one model call in flight."""

    __tablename__ = "credit_holds"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    run_step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("run_steps.id", ondelete="SET NULL"),
                                                          nullable=True)
    model_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
