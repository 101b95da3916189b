"""Fixtures shared across the core's test folders (the pytest plugin provides the rest)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Callable

import pytest

from app.models import utcnow
from app.runtime import auth_service, repositories


@pytest.fixture
def inkwright_plugins() -> tuple[str, ...]:
    """The core's own suite sees only the core's entry points: an installed plugin (the
    first-party ones in plugins/ included) adds event handlers, jobs and pages the core's
    tests must not depend on. Each plugin's own tests enable it."""
    return ("inkwright",)


@pytest.fixture
def sessions(app, user) -> tuple[uuid.UUID, uuid.UUID]:
    """Two API sessions of one user: ``(lapsed, live)``; the first one's refresh token expired."""
    with app.app_context():
        account = repositories().users.get(user.user.id)
        lapsed, live = auth_service().open_session(account), auth_service().open_session(account)
        repos = repositories()
        with repos.transaction():
            repos.auth_sessions.get(lapsed.session.id).refresh_expires_at = utcnow() - timedelta(seconds=1)
        return lapsed.session.id, live.session.id


@pytest.fixture
def remaining_sessions(app) -> Callable[[], set[uuid.UUID]]:
    """The ids of the API sessions still stored."""

    def read() -> set[uuid.UUID]:
        with app.app_context():
            return {row.id for row in repositories().auth_sessions.list()}

    return read
