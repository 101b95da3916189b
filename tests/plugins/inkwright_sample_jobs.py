"""Jobs the worker tests enqueue by dotted path (tests/test_workers.py).

Jobs live in an importable module, never in a test's ``__main__`` (STYLE.md), so a
forked work horse imports them exactly as it would a real one.
"""

from __future__ import annotations

import os

from sqlalchemy import text

from app.extensions import db


def database_connection() -> dict:
    """Which process ran the job, and which PostgreSQL backend its connection talks to."""
    return {"pid": os.getpid(), "backend": db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()}
