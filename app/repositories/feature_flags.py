"""Feature flags: platform-wide, managed by platform administrators."""

from __future__ import annotations

from ..models import FeatureFlag
from .base import Repository, operation


class FeatureFlagRepository(Repository[FeatureFlag]):
    model = FeatureFlag

    @operation
    def by_key(self, flag_key: str) -> FeatureFlag | None:
        return self.first(FeatureFlag.flag_key == flag_key)

    def all(self) -> list[FeatureFlag]:
        return self.list(order_by=[FeatureFlag.flag_key])
