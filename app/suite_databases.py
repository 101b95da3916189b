"""The databases a test session runs on: the suite's own, one per pytest-xdist worker, and
emptying them between tests (for :mod:`app.pytest_plugin`'s fixtures).

SQLite in a temporary folder unless ``INKWRIGHT_TEST_DATABASE_URL`` names a PostgreSQL
database; Redis's database and PostgreSQL's are one per xdist worker beside the named ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .config import sqlalchemy_url
from .extensions import db


@dataclass(frozen=True)
class TestDatabase:
    """The suite's database: its URL and whether it is PostgreSQL."""

    __test__ = False  # not a test class, despite the name

    url: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgresql", "postgres"))


def reset_postgres_schema(url: str) -> None:
    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _xdist_worker() -> int | None:
    """The number of this pytest-xdist worker (``gw3`` → 3), or ``None`` in a plain run."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else None


def redis_url_of_worker(url: str) -> str:
    """Under pytest-xdist each worker flushes a Redis database of its own: the configured
    one's number plus the worker's (modulo Redis's 16)."""
    worker = _xdist_worker()
    parts = urlsplit(url)
    if worker is None or parts.scheme not in ("redis", "rediss"):
        return url
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + worker) % 16}"))


def database_url_of_worker(url: str) -> str:
    """Under pytest-xdist each worker rebuilds a PostgreSQL database of its own, made beside
    the configured one (``<name>_gw<n>``) when it does not exist yet."""
    worker = _xdist_worker()
    if worker is None or not url.startswith(("postgresql", "postgres")):
        return url
    parsed = make_url(sqlalchemy_url(url))
    name = f"{parsed.database}_gw{worker}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def empty_tables(app: Flask) -> None:
    with app.app_context():
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            existing = set(db.inspect(connection).get_table_names())
            names = [t.name for t in tables if t.name in existing]
            if not names:
                return
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
            else:
                for name in names:
                    connection.execute(text(f'DELETE FROM "{name}"'))
        db.session.remove()
        db.engine.dispose()
