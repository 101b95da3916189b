"""Fixtures for the repository tests: two tenants, unsaved tenant-aware rows, row counts.

API keys serve as the tenant-aware rows: a real core model with a tenant, a unique column
and NOT NULL columns.
"""

from __future__ import annotations

import uuid
from typing import Callable

import pytest

from app.auth.tokens import API_KEY_PREFIX, display_prefix, hash_secret, new_secret
from app.models import ApiKey, Role
from app.pytest_plugin import Account


@pytest.fixture
def two_tenants(make_user: Callable[..., Account]) -> tuple[Account, Account]:
    """Two registered people, each with a personal tenant of their own."""
    return make_user(name="Ada"), make_user(name="Bob")


@pytest.fixture
def new_key() -> Callable[..., ApiKey]:
    """Build an unsaved API key row (no tenant unless one is given)."""

    def build(name: str = "deploy key", tenant_id: uuid.UUID | None = None, **fields) -> ApiKey:
        secret = new_secret(API_KEY_PREFIX)
        return ApiKey(name=name, prefix=display_prefix(secret), key_hash=hash_secret(secret),
                      role=fields.pop("role", Role.MEMBER), tenant_id=tenant_id, **fields)

    return build

