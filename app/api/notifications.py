"""The signed-in person's notifications: list, mark read, delete, and follow them live."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask import Response, request, stream_with_context

from ..auth.principal import current_principal
from ..errors import NotFoundError, ValidationError
from ..notifications import NotificationStream, public, stream_key
from ..runtime import current_state, repositories
from ..schemas.notifications import (
    MarkedSchema,
    NotificationEventsQuerySchema,
    NotificationPageSchema,
    NotificationQuerySchema,
    NotificationSchema,
)
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("notifications", __name__, url_prefix="/api/notifications",
                        description="The signed-in person's notifications")

_EVENT_ID = r"^\d{1,15}-\d{1,10}$"


def _person() -> uuid.UUID:
    user_id = current_principal().user_id
    if user_id is None:  # an API key whose creator is gone speaks for nobody
        raise NotFoundError("This credential belongs to nobody who could have notifications.", {})
    return user_id


def _now():
    return current_state().clock.now()


@blp.route("")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(query: dict[str, Any]):
    """Your notifications, newest first (expired ones are gone); filter by ``unread`` and ``priority``."""
    user_id, now = _person(), _now()
    repos = repositories()
    items, total = repos.notifications.newest(user_id, now, unread=query.get("unread"),
                                              priority=query.get("priority"), limit=query["limit"],
                                              offset=query["offset"])
    return {"items": items, "total": total, "unread": repos.notifications.unread_count(user_id, now),
            "limit": query["limit"], "offset": query["offset"]}


def _own(notification_id: str):
    found = repositories().notifications.of_user(_person(), notification_id)
    if found is None:  # another person's is not found, never forbidden: its existence is not told
        raise NotFoundError(f"No notification with id {notification_id} here.", {"id": notification_id})
    return found


@blp.route("/<notification_id>")
@blp.response(200, NotificationSchema)
def get_notification(notification_id: str):
    return _own(notification_id)


@blp.route("/<notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def mark_read(notification_id: str):
    """Mark one notification read (reading it twice changes nothing)."""
    repos = repositories()
    with repos.transaction():
        found = _own(notification_id)
        repos.notifications.mark_read(found.user_id, _now(), [found.id])
    return repositories().notifications.of_user(found.user_id, found.id)


@blp.route("/read-all", methods=["POST"])
@blp.response(200, MarkedSchema)
def mark_all_read():
    user_id, now = _person(), _now()
    repos = repositories()
    with repos.transaction():
        marked = repos.notifications.mark_read(user_id, now)
    return {"marked": marked, "unread": repositories().notifications.unread_count(user_id, now)}


@blp.route("/<notification_id>", methods=["DELETE"])
@blp.response(200, NotificationSchema)
def delete_notification(notification_id: str):
    """Delete one notification; the answer is the notification as it was."""
    repos = repositories()
    with repos.transaction():
        found = _own(notification_id)
        shown = public(found)  # read before the row goes
        repos.notifications.delete(found)
    return shown


@blp.route("/events")
@blp.arguments(NotificationEventsQuerySchema, location="query")
@blp.doc(responses={"200": {"description": "Your new notifications as Server-Sent Events (``notification``), "
                                           "resumable with ``Last-Event-ID``; a comment line every ``keepalive`` "
                                           "seconds.",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def notification_events(query: dict[str, Any]):
    """New notifications as they arrive, each with your unread count."""
    user_id = _person()
    state = current_state()
    client = state.redis.client()
    # From the last event this page saw, or the moment the page was made (its ``after``, a
    # stream id: milliseconds), so nothing sent while the page was connecting is missed.
    after = request.headers.get("Last-Event-ID") or query.get("after") or NotificationStream(client).latest_id(user_id)
    if not re.match(_EVENT_ID, after):
        raise ValidationError("Last-Event-ID is not an event id of this stream.",
                              {"fields": {"headers.Last-Event-ID": ["Expected an id such as 1700000000000-0."]}})
    hub = state.progress_hub()

    def unread() -> int:
        repos = repositories()
        count = repos.notifications.unread_count(user_id, _now())
        repos.transaction().end_read()  # no transaction stays open while the stream waits
        return count

    def stream():
        yield "retry: 5000\n\n"
        watcher = hub.watch(user_id, after, key=stream_key(user_id))
        try:
            while True:
                events = watcher.next(timeout=query["keepalive"])
                if not events:
                    yield ": keep-alive\n\n"
                    continue
                count = unread()
                for event_id, _kind, data in events:
                    yield f"id: {event_id}\nevent: notification\ndata: {json.dumps(dict(data, unread=count))}\n\n"
        finally:
            hub.unwatch(watcher)

    repositories().transaction().end_read()
    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

