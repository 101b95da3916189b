"""app/connection_checks.py: a pooled connection is checked before use only after sitting idle."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, exc, text
from sqlalchemy.pool import QueuePool

from app.connection_checks import _RETURNED_AT, check_connections_when_idle


@pytest.fixture
def engine(tmp_path):
    made = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", poolclass=QueuePool, pool_size=1, max_overflow=0)
    check_connections_when_idle(made, idle_before_check=30)
    yield made
    made.dispose()


def pooled_record(engine):
    """The pool's one connection record, after a first use returned it."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        record = connection.connection._connection_record
    return record


def test_a_connection_that_sat_idle_and_died_is_replaced_before_use(engine):
    record = pooled_record(engine)
    dead = record.dbapi_connection
    dead.close()  # as a server that dropped it would leave it
    record.info[_RETURNED_AT] = time.monotonic() - 60  # back in the pool a minute ago

    with engine.connect() as connection:
        assert connection.execute(text("SELECT 2")).scalar() == 2
        assert connection.connection.dbapi_connection is not dead


def test_a_connection_back_a_moment_ago_is_used_without_a_check(engine):
    record = pooled_record(engine)
    record.dbapi_connection.close()  # died, but the pool has no reason to think so yet

    with pytest.raises(exc.DBAPIError):
        with engine.connect() as connection:
            connection.execute(text("SELECT 3"))


def test_installing_twice_checks_once(engine):
    check_connections_when_idle(engine)
    record = pooled_record(engine)
    record.info[_RETURNED_AT] = time.monotonic() - 60
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 4")).scalar() == 4
