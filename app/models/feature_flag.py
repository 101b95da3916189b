"""Feature flags (seed 003 table 13): a feature on for everyone, a stable share of people,
named people, or the tiers of a subscription."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, Timestamps, UUIDPrimaryKey


class FeatureFlag(UUIDPrimaryKey, Timestamps, Model):
    __tablename__ = "feature_flags"
    __table_args__ = (CheckConstraint("rollout_percentage >= 0 AND rollout_percentage <= 100",
                                      name="rollout_percentage_range"),)

    flag_key: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    is_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    rollout_percentage: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: User ids (as strings) the flag is on for whatever the percentage.
    rollout_user_ids: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    #: Subscription tiers the flag is on for (``free``, ``creator``…).
    rollout_tiers: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
