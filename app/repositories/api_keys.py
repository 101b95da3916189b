"""A tenant's API keys (seed 002)."""

from __future__ import annotations

from ..models import ApiKey, ApiKeyStatus, utcnow
from .base import ScopedRepository, operation


class ApiKeyRepository(ScopedRepository[ApiKey]):
    model = ApiKey

    @operation
    def expire_lapsed(self) -> int:
        """Move active keys past their expiry to EXPIRED, so listings tell the truth."""
        now = utcnow()
        lapsed = self.list(ApiKey.status == ApiKeyStatus.ACTIVE, ApiKey.expires_at.is_not(None),
                           ApiKey.expires_at <= now)
        for key in lapsed:
            key.move_to(ApiKeyStatus.EXPIRED)
        self.session.flush()
        return len(lapsed)
