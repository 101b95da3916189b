"""Fixtures for the auth tests (the core's pytest plugin provides the rest)."""

from __future__ import annotations

from typing import Callable

import pytest

from app.pytest_plugin import Account



@pytest.fixture
def two_people(make_user: Callable[..., Account]) -> tuple[Account, Account]:
    """Two registered people, each the owner of a personal tenant."""
    return make_user(name="Ada"), make_user(name="Bob")
