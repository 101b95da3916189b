"""Which database failures are the database being away, and which are a bug.

A refused or dropped connection, a pool that cannot hand one out in time, SQLite's lock held
past its timeout: the request was fine and the same call will work once the database is
back, so it is a retryable 503 (:class:`~app.errors.DatabaseUnavailableError`). A unique
constraint another writer won a moment ago is a 409 (:class:`~app.errors.DuplicateRowError`).
Anything else (a NOT NULL or foreign key broken, a missing column) is a
:class:`~app.errors.RepositoryError`, a 500 to fix.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ..errors import DatabaseUnavailableError, DuplicateRowError, RepositoryError

#: Words of the drivers' messages when the server is away (psycopg, sqlite3).
_AWAY = ("connection", "could not connect", "server closed", "terminating", "shutting down", "database is locked",
         "unable to open database", "timeout", "timed out", "the database system is starting up")


def database_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, (DisconnectionError, PoolTimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig or exc).lower()
        return any(words in text for words in _AWAY)
    return False


#: SQLSTATE of a unique violation (PostgreSQL), and SQLite's words for one.
_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE = ("unique constraint failed", "primary key must be unique")


def duplicate_row(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique constraint refusing a row another writer already added."""
    if not isinstance(exc, IntegrityError):
        return False
    if getattr(exc.orig, "sqlstate", None) == _UNIQUE_VIOLATION:
        return True
    text = str(exc.orig or exc).lower()
    return any(words in text for words in _SQLITE_UNIQUE)


def repository_error(operation: str, entity: str, exc: SQLAlchemyError) -> RepositoryError:
    """The error a failed database operation becomes."""
    if database_unreachable(exc):
        return DatabaseUnavailableError(operation, entity, exc)
    if duplicate_row(exc):
        return DuplicateRowError(operation, entity, exc)
    return RepositoryError(operation, entity, exc)
