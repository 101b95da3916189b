"""The Redis connection and the RQ queues.

Jobs go on the queue by dotted path with ids only (``enqueue("app.jobs.deliver_event",
event_id)``): no ORM object, plugin module or pickle ever reaches Redis, and RQ's
``JSONSerializer`` keeps the payload readable and safe (RQ's own advice).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from .redis_server import RedisServer

#: What a job argument may be: ids and small scalars, never objects.
_SAFE_ARGUMENT_TYPES = (str, int, float, bool, type(None))


class RedisConnector:
    """The app's Redis: the configured server, or an embedded one started on first use.

    Starting lazily keeps commands such as ``flask inkwright config`` from spawning a
    server they do not need.
    """

    def __init__(self, url: str, binary: str = "") -> None:
        self.configured_url = url
        self.binary = binary
        self.embedded: RedisServer | None = None
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    @property
    def is_embedded(self) -> bool:
        return not self.configured_url

    @property
    def url(self) -> str:
        """The URL other processes (workers) use to reach the same server."""
        if self.configured_url:
            return self.configured_url
        return self._ensure_embedded().url

    def _ensure_embedded(self) -> RedisServer:
        with self._lock:
            if self.embedded is None or not self.embedded.running:
                self.embedded = RedisServer(self.binary).start()
            return self.embedded

    def client(self) -> redis.Redis:
        if self._client is None:
            # driver_info=None: no CLIENT SETINFO per connection, and no package-metadata
            # lookup per connection either (it costs a forked work horse milliseconds).
            self._client = redis.Redis.from_url(self.url, health_check_interval=30, driver_info=None)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def make_queue(connection: redis.Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def job_arguments(args: tuple[Any, ...]) -> list[Any]:
    """Check job arguments are ids or scalars; UUIDs travel as strings.

    :raises TypeError: for anything else, so an ORM object never reaches Redis.
    """
    checked = []
    for arg in args:
        if isinstance(arg, uuid.UUID):
            arg = str(arg)
        if not isinstance(arg, _SAFE_ARGUMENT_TYPES):
            raise TypeError(f"job arguments must be ids or scalars, got {type(arg).__name__}")
        checked.append(arg)
    return checked


def enqueue(queue: Queue, function_path: str, *args: Any, **options: Any):
    """Put a job on the queue by the dotted path of its function.

    :param function_path: e.g. ``"app.jobs.deliver_event"``; must be importable by workers.
    :param options: RQ job options (``job_id``, ``job_timeout``, ``retry``...).
    """
    if not isinstance(function_path, str) or "." not in function_path:
        raise TypeError("enqueue jobs by dotted path, e.g. 'app.jobs.deliver_event'")
    return queue.enqueue(function_path, *job_arguments(args), **options)
