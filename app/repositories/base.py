"""The repository base classes: the only code in Inkwright that builds queries.

``Repository`` serves tables that are not tenant-aware (users, tenants, mail) or lookups
that must happen before a tenant is known (a bearer token's hash). ``ScopedRepository``
serves tenant-aware tables: it cannot be built without a tenant, and every statement it
runs carries ``tenant_id = <scope>``, so a view cannot forget the scope (seeds 002, 004).
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any, Callable, ClassVar, Generic, Iterable, Sequence, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import AppError, NotFoundError, RepositoryError
from ..models.base import Model, SoftDelete, utcnow
from .cache import RepositoryCache
from .metrics import RepositoryMetrics

M = TypeVar("M", bound=Model)
F = TypeVar("F", bound=Callable[..., Any])


def operation(method: F) -> F:
    """Time a repository method, count it, and turn database failures into ``RepositoryError``."""

    @functools.wraps(method)
    def wrapper(self: "Repository", *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        failed = False
        try:
            return method(self, *args, **kwargs)
        except AppError:
            raise
        except SQLAlchemyError as exc:
            failed = True
            raise RepositoryError(method.__name__, self.entity, exc) from exc
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.metrics.record(self.entity, method.__name__, elapsed_ms, failed)

    return wrapper  # type: ignore[return-value]


def as_uuid(value: Any) -> uuid.UUID | None:
    """Read an id from a URL or a body; anything that is not a UUID matches nothing."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


class Repository(Generic[M]):
    """Queries over one model, with metrics, optional caching and soft-delete awareness.

    :param session: the SQLAlchemy session of the current unit of work.
    :param metrics: where operation counts and timings go.
    :param cache: the app's TTL cache for hot lookups.
    """

    model: ClassVar[type[Model]]

    def __init__(self, session: Session, *, metrics: RepositoryMetrics, cache: RepositoryCache) -> None:
        self.session = session
        self.metrics = metrics
        self.cache = cache

    @property
    def entity(self) -> str:
        return self.model.__name__

    # The one place a statement is scoped; ScopedRepository adds the tenant here.
    def _scope(self, statement: Select) -> Select:
        if issubclass(self.model, SoftDelete):
            statement = statement.where(self.model.deleted_at.is_(None))
        return statement

    def select(self, *criteria: Any) -> Select:
        """A ``SELECT`` of this model with the repository's scope already applied."""
        return self._scope(select(self.model)).where(*criteria)

    @operation
    def get(self, id: Any) -> M | None:
        key = as_uuid(id)
        if key is None:
            return None
        return self.session.scalars(self.select(self.model.id == key)).first()

    def require(self, id: Any) -> M:
        """Return the row or raise the 404 a client should see.

        :raises NotFoundError: when nothing with this id is visible in the scope.
        """
        found = self.get(id)
        if found is None:
            raise NotFoundError(f"No {self.entity.lower()} with id {id} here.", {"id": str(id)})
        return found

    @operation
    def first(self, *criteria: Any) -> M | None:
        return self.session.scalars(self.select(*criteria)).first()

    @operation
    def list(self, *criteria: Any, order_by: Sequence[Any] = (), limit: int | None = None,
             offset: int = 0) -> list[M]:
        statement = self.select(*criteria).order_by(*order_by).offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        return list(self.session.scalars(statement))

    @operation
    def count(self, *criteria: Any) -> int:
        inner = self.select(*criteria).subquery()
        return int(self.session.scalar(select(func.count()).select_from(inner)) or 0)

    def page(self, *criteria: Any, order_by: Sequence[Any] = (), limit: int = 50,
             offset: int = 0) -> tuple[list[M], int]:
        """One page of rows and the total count, for list endpoints."""
        return self.list(*criteria, order_by=order_by, limit=limit, offset=offset), self.count(*criteria)

    @operation
    def add(self, instance: M) -> M:
        self.session.add(instance)
        self.session.flush()
        return instance

    @operation
    def add_all(self, instances: Iterable[M]) -> list[M]:
        instances = list(instances)
        self.session.add_all(instances)
        self.session.flush()
        return instances

    @operation
    def save(self, instance: M) -> M:
        """Flush pending changes to a row this repository loaded."""
        self.session.flush()
        return instance

    @operation
    def delete(self, instance: M) -> None:
        """Remove the row; soft-deletable models are marked deleted instead."""
        if isinstance(instance, SoftDelete):
            instance.deleted_at = utcnow()
            self.session.flush()
        else:
            self.session.delete(instance)
            self.session.flush()


class ScopedRepository(Repository[M]):
    """A repository over a tenant-aware model, bound to exactly one tenant.

    :param tenant_id: the tenant every statement is restricted to; required.
    :raises ValueError: when built without a tenant.
    """

    def __init__(self, session: Session, *, tenant_id: uuid.UUID | None, metrics: RepositoryMetrics,
                 cache: RepositoryCache) -> None:
        if tenant_id is None:
            raise ValueError(f"{type(self).__name__} needs a tenant scope")
        super().__init__(session, metrics=metrics, cache=cache)
        self.tenant_id = tenant_id

    def _scope(self, statement: Select) -> Select:
        return super()._scope(statement).where(self.model.tenant_id == self.tenant_id)

    def _claim(self, instance: M) -> M:
        current = getattr(instance, "tenant_id", None)
        if current is not None and current != self.tenant_id:
            raise RepositoryError("add", self.entity, message="Refusing to write a row into another tenant.")
        instance.tenant_id = self.tenant_id
        return instance

    def add(self, instance: M) -> M:
        return super().add(self._claim(instance))

    def add_all(self, instances: Iterable[M]) -> list[M]:
        return super().add_all([self._claim(instance) for instance in instances])
