"""app/repositories/system.py: the declared system scope is complete, reasoned and bounded."""

from __future__ import annotations

import importlib
import pkgutil
import uuid

import pytest

import app.repositories
from app.models import ApiKey, Run
from app.repositories import RepositoryCache, RepositoryMetrics
from app.repositories.base import ScopedRepository, SystemRepository, current_system_scope, operation
from app.repositories.system import SYSTEM_SCOPE


def core_system_repositories() -> set[type]:
    for module in pkgutil.iter_modules(app.repositories.__path__):
        importlib.import_module(f"app.repositories.{module.name}")
    found, pending = set(), list(SystemRepository.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("app.repositories."):
            found.add(cls)
    return found


def test_every_core_repository_that_crosses_tenants_is_listed_in_one_place():
    assert core_system_repositories() == set(SYSTEM_SCOPE)
    for repository in SYSTEM_SCOPE:
        assert "System scope:" in repository.__doc__, f"{repository.__name__} does not say why it crosses tenants"


def test_a_system_repository_must_say_why_it_crosses_tenants():
    with pytest.raises(TypeError, match="docstring must say why"):
        class Unexplained(SystemRepository[Run]):
            model = Run


class Sweeper(SystemRepository[Run]):
    """System scope, for this test: reports the scope its operation runs in."""

    model = Run

    @operation
    def scope_now(self) -> str | None:
        return current_system_scope()


class KeysOfOneTenant(ScopedRepository[ApiKey]):
    model = ApiKey

    @operation
    def scope_now(self) -> str | None:
        return current_system_scope()


def test_the_system_scope_holds_only_while_a_system_repositorys_operation_runs():
    machinery = {"metrics": RepositoryMetrics(), "cache": RepositoryCache(0)}
    assert Sweeper(None, **machinery).scope_now() == "Sweeper"
    assert current_system_scope() is None
    assert KeysOfOneTenant(None, tenant_id=uuid.uuid4(), **machinery).scope_now() is None
