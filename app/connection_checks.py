"""Checking a pooled database connection before use, only when it may have gone stale.

A server (or a proxy, or a firewall) may drop a connection that sat idle, so a connection
taken from the pool is checked first. SQLAlchemy's ``pool_pre_ping`` checks on *every*
checkout, and a busy worker checks out a connection for every transaction: a ``SELECT 1``
round trip each time, as many as the no-op step's own statements. This checks only a
connection that has been back in the pool longer than ``IDLE_BEFORE_CHECK`` seconds; a
connection that fails its check is replaced, as with ``pool_pre_ping`` (SQLAlchemy's
"Disconnect Handling — Pessimistic" recipe with a ``checkout`` event).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

#: Seconds in the pool after which a connection is checked before use. Well below any
#: server's idle timeout (PostgreSQL has none by default; proxies often drop after minutes).
IDLE_BEFORE_CHECK = 10.0

_RETURNED_AT = "inkwright_returned_at"


def check_connections_when_idle(engine: Engine, idle_before_check: float = IDLE_BEFORE_CHECK) -> None:
    """Install the check on ``engine``'s pool (once per engine)."""
    if getattr(engine, "_inkwright_checks_idle_connections", False):
        return
    engine._inkwright_checks_idle_connections = True

    def remember_return(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    def check_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < idle_before_check:
            return  # new, or back in the pool a moment ago: it was working then
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            if not getattr(dbapi_connection, "autocommit", True):
                dbapi_connection.rollback()  # end the check's own transaction: back clean
        except Exception as error:  # noqa: BLE001 - any failure means: do not use this connection
            # The pool discards this connection and checks out another (up to three times).
            raise exc.DisconnectionError(f"a pooled connection failed its check: {error}") from error

    event.listen(engine, "checkin", remember_return)
    event.listen(engine, "checkout", check_if_idle)
