"""A person's notifications. Every query names the person: one never reads another's."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update

from ..models import Notification, NotificationPriority
from .base import Repository, as_uuid, operation


class NotificationRepository(Repository[Notification]):
    model = Notification

    def _visible(self, user_id: uuid.UUID, now: datetime) -> list:
        return [Notification.user_id == user_id, Notification.expires_at > now]

    def newest(self, user_id: uuid.UUID, now: datetime, *, unread: bool | None = None,
               priority: NotificationPriority | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[Notification], int]:
        criteria = self._visible(user_id, now)
        if unread is not None:
            criteria.append(Notification.is_read.is_(not unread))
        if priority is not None:
            criteria.append(Notification.priority == priority)
        return self.page(*criteria, order_by=[Notification.created_at.desc(), Notification.id.desc()],
                         limit=limit, offset=offset)

    @operation
    def unread_count(self, user_id: uuid.UUID, now: datetime) -> int:
        return int(self.session.scalar(select(func.count()).select_from(Notification).where(
            *self._visible(user_id, now), Notification.is_read.is_(False))) or 0)

    def of_user(self, user_id: uuid.UUID, notification_id: object) -> Notification | None:
        """The person's own notification; another's is ``None``, as if it did not exist."""
        key = as_uuid(notification_id)
        return self.first(Notification.id == key, Notification.user_id == user_id) if key else None

    @operation
    def mark_read(self, user_id: uuid.UUID, now: datetime, ids: list[uuid.UUID] | None = None) -> int:
        """Mark the person's unread notifications read (those of ``ids``, else all); how many."""
        statement = update(Notification).where(Notification.user_id == user_id, Notification.is_read.is_(False))
        if ids is not None:
            statement = statement.where(Notification.id.in_(ids))
        result = self.session.execute(statement.values(is_read=True, read_at=now)
                                      .execution_options(synchronize_session="fetch"))
        return result.rowcount or 0

    @operation
    def exists_since(self, user_id: uuid.UUID, kind: str, entity_id: str, since: datetime) -> bool:
        """Whether the person was told ``kind`` about ``entity_id`` at or after ``since``."""
        return self.session.scalar(select(Notification.id).where(
            Notification.user_id == user_id, Notification.type == kind,
            Notification.related_entity_id == entity_id, Notification.created_at >= since).limit(1)) is not None

    @operation
    def purge_expired(self, now: datetime) -> int:
        """Remove every notification past its ``expires_at``; how many went."""
        result = self.session.execute(delete(Notification).where(Notification.expires_at <= now)
                                      .execution_options(synchronize_session=False))
        return result.rowcount or 0
