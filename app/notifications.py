"""Telling a person something: a row they read in the studio, live, and mail if they asked.

:func:`notify` (:func:`write_notification`) writes the notification in the caller's transaction, so a change that rolls
back tells nobody. It also publishes ``notification.created``; once that commits, the core's
handler (:func:`announce`) appends it to the person's Redis stream, which their open pages
follow through ``GET /api/notifications/events``. A notification of a type the person's
``preferences.notifications`` asks to be mailed (seed 003: ``email_on_<type>``) also goes to
the outbox, in the same transaction.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import redis

from .errors import ValidationError
from .events import DomainEvent
from .models import Notification, NotificationPriority, User
from .repositories import Repositories
from .runtime import current_state, mailer, repositories

log = logging.getLogger(__name__)

#: The core's types; a plugin may notify with a type of its own (a short snake_case name).
CORE_TYPES = ("agent_complete", "low_credits", "export_ready", "invitation", "comment", "webhook_disabled")
#: Mailed unless the person's preferences say otherwise (seed 003's example preferences).
MAILED_BY_DEFAULT = frozenset({"agent_complete", "low_credits", "webhook_disabled"})
#: Seed 003's retention: a notification goes after 90 days unless it says otherwise.
DEFAULT_LIFETIME = timedelta(days=90)
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_.]{1,49}$")
CREATED = "notification.created"
STREAM_TTL_SECONDS = 24 * 3600
STREAM_MAX_LENGTH = 200


def stream_key(user_id: uuid.UUID | str) -> str:
    """The Redis stream a person's open pages follow."""
    return f"inkwright:notifications:{user_id}"


def _safe_action_url(url: str | None) -> str | None:
    """A studio path (``/runs/…``) or an http(s) address; anything else is refused, so no
    ``javascript:`` link reaches a page."""
    if url is None:
        return None
    if (url.startswith("/") and not url.startswith(("//", "/\\"))) or re.match(r"^https?://", url):
        return url[:500]
    raise ValidationError("An action URL is a path of the studio or an http(s) address.",
                          {"fields": {"action_url": ["Use /path or https://…"]}})


def wants_mail(user: User, kind: str) -> bool:
    """Whether the person asked for ``kind`` by mail (``preferences.notifications.email_on_<kind>``)."""
    chosen = ((user.preferences or {}).get("notifications") or {}).get(f"email_on_{kind}")
    return bool(chosen) if isinstance(chosen, bool) else kind in MAILED_BY_DEFAULT


def write_notification(repos: Repositories, now: datetime, user_id: uuid.UUID, kind: str, title: str, message: str = "", *,
           tenant_id: uuid.UUID | None = None, related_entity_type: str | None = None,
           related_entity_id: str | None = None, action_url: str | None = None, action_label: str | None = None,
           priority: str | NotificationPriority = NotificationPriority.NORMAL,
           expires_at: datetime | None = None, mailer: Any = None) -> Notification:
    """Tell the person ``user_id`` something, in the transaction of ``repos``.

    :param kind: one of :data:`CORE_TYPES` or a plugin's own type.
    :param mailer: sends the mail copy when the person wants one (``None``: no mail).
    :raises ValidationError: for a malformed type, priority or action URL.
    """
    if not TYPE_NAME.match(kind or ""):
        raise ValidationError("A notification type is 2 to 50 lower-case letters, digits, dots and underscores.",
                              {"fields": {"type": ["Use a name such as agent_complete."]}})
    try:
        level = NotificationPriority(priority)
    except ValueError:
        raise ValidationError("Priority is low, normal, high or urgent.",
                              {"fields": {"priority": ["Use low, normal, high or urgent."]}}) from None
    row = repos.notifications.add(Notification(
        user_id=user_id, origin_tenant_id=tenant_id, type=kind, title=(title.strip() or kind)[:255],
        message=message or "", related_entity_type=related_entity_type,
        related_entity_id=str(related_entity_id)[:64] if related_entity_id is not None else None,
        action_url=_safe_action_url(action_url), action_label=(action_label or None) and action_label[:100],
        priority=level, is_read=False, created_at=now, expires_at=expires_at or now + DEFAULT_LIFETIME))
    repos.transaction().publish(DomainEvent(CREATED, str(row.id), {
        "user_id": str(user_id), "type": kind, "title": row.title, "priority": level.value,
        "action_url": row.action_url}, tenant_id=tenant_id))
    user = repos.users.get(user_id)
    if mailer is not None and user is not None and wants_mail(user, kind):
        body = "\n\n".join(part for part in (message, row.action_url and f"Open: {row.action_url}") if part)
        mailer.send(f"notification.{kind}"[:50], user.email, row.title, body or row.title)
    return row


def notify(user_id: uuid.UUID, kind: str, title: str, message: str = "", **options: Any) -> Notification:
    """:func:`write_notification` in this request's or job's transaction, at the app clock's
    now, mailed through the app's mailer (what plugins call, as ``app.toolkit.notify``)."""
    options.setdefault("mailer", mailer())  # mailer=None: the caller sends a mail of its own
    return write_notification(repositories(), current_state().clock.now(), user_id, kind, title, message,
                              **options)


def public(row: Notification) -> dict[str, Any]:
    """A notification's fields as plain values (for the API's schema to show), read while the
    row is still there."""
    return {"id": str(row.id), "type": row.type, "title": row.title, "message": row.message,
            "related_entity_type": row.related_entity_type, "related_entity_id": row.related_entity_id,
            "is_read": row.is_read, "read_at": row.read_at, "action_url": row.action_url,
            "action_label": row.action_label, "priority": row.priority, "created_at": row.created_at,
            "expires_at": row.expires_at}


class NotificationStream:
    """Append to and read a person's live stream (a view for open pages, never the truth)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def announce(self, event: DomainEvent) -> None:
        """The committed ``notification.created``: on to the person's stream. A Redis failure is
        logged: the notification is in the database and the next page load shows it."""
        data = dict(event.payload, id=event.aggregate_id)
        key = stream_key(event.payload["user_id"])
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.xadd(key, {"type": "notification", "data": json.dumps(data, default=str)},
                          maxlen=STREAM_MAX_LENGTH, approximate=True)
                pipe.expire(key, STREAM_TTL_SECONDS)
                pipe.execute()
        except redis.RedisError:
            log.warning("could not announce notification %s", event.aggregate_id, exc_info=True)

    def latest_id(self, user_id: uuid.UUID | str) -> str:
        """The id of the newest entry (``0-0`` for none): a page follows from here."""
        try:
            newest = self.client.xrevrange(stream_key(user_id), count=1)
        except redis.RedisError:
            return "0-0"
        if not newest:
            return "0-0"
        entry_id = newest[0][0]
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
