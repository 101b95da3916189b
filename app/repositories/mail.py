"""The mail outbox."""

from __future__ import annotations

from ..models import OutboxMessage
from .base import Repository, operation


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    @operation
    def latest_to(self, address: str, kind: str | None = None) -> OutboxMessage | None:
        criteria = [OutboxMessage.to_address == address.strip().lower()]
        if kind:
            criteria.append(OutboxMessage.kind == kind)
        found = self.list(*criteria, order_by=[OutboxMessage.created_at.desc()], limit=1)
        return found[0] if found else None
