"""The repository base classes: the only code in Inkwright that builds queries.

``Repository`` serves tables that are not tenant-aware (users, tenants, mail).
``ScopedRepository`` serves tenant-aware tables: it cannot be built without a tenant, and it
builds every statement it runs — ORM or Core, SELECT, UPDATE or DELETE, prepared or not —
through a helper here that starts from ``tenant_id = <scope>``, so no method writes the
predicate by hand and none can forget it (seeds 002, 004; issue 9). ``SystemRepository``
serves the few lookups that must cross tenants (a bearer token's hash before any tenant is
known, the reconciler's sweeps): each says why in its docstring, and all are listed in
:data:`app.repositories.system.SYSTEM_SCOPE`. The scope guard (``scope_guard.py``) checks
every statement against these rules while the API suite runs.
"""

from __future__ import annotations

import functools
import time
import uuid
from contextvars import ContextVar
from typing import Any, Callable, ClassVar, Generic, Iterable, Mapping, Sequence, TypeVar

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Delete,
    Executable,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, with_loader_criteria

from ..errors import AppError, NotFoundError, RepositoryError
from ..models.base import Model, SoftDelete, TenantScoped, utcnow
from .cache import RepositoryCache
from .failures import repository_error
from .metrics import RepositoryMetrics

M = TypeVar("M", bound=Model)
F = TypeVar("F", bound=Callable[..., Any])

#: The name of the system repository whose operation is running now, if one is: the scope
#: guard lets its statements cross tenants. A context variable, so each thread (and each
#: job of a ``threads`` worker) has its own.
_system_scope: ContextVar[str | None] = ContextVar("inkwright_system_scope", default=None)

#: The bound parameter that carries the tenant into a statement prepared once for every
#: tenant (``statements.py``); :meth:`ScopedRepository.execute_prepared` binds it.
TENANT_PARAMETER = "b_tenant_id"


def current_system_scope() -> str | None:
    """The system repository whose operation is running now, or ``None`` inside a tenant."""
    return _system_scope.get()


def operation(method: F) -> F:
    """Time a repository method, count it, and turn database failures into ``RepositoryError``.

    A system repository's operation also declares, while it runs, that its statements cross
    tenants on purpose (see :class:`SystemRepository`).
    """

    @functools.wraps(method)
    def wrapper(self: "Repository", *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        failed = False
        crossing = _system_scope.set(type(self).__name__) if self.crosses_tenants else None
        try:
            return method(self, *args, **kwargs)
        except AppError:
            raise
        except SQLAlchemyError as exc:
            failed = True
            raise repository_error(method.__name__, self.entity, exc) from exc
        finally:
            if crossing is not None:
                _system_scope.reset(crossing)
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.metrics.record(self.entity, method.__name__, elapsed_ms, failed)

    return wrapper  # type: ignore[return-value]


def prepared_update(table: Table) -> Update:
    """An UPDATE of a tenant-aware table, prepared once for every tenant: it starts from
    ``tenant_id = :b_tenant_id``, which :meth:`ScopedRepository.execute_prepared` binds."""
    return table.update().where(table.c.tenant_id == bindparam(TENANT_PARAMETER))


def prepared_select(table: Table, *columns: Any) -> Select:
    """A SELECT of a tenant-aware table's columns (all by default), prepared once for every
    tenant like :func:`prepared_update`."""
    return select(*(columns or table.c)).where(table.c.tenant_id == bindparam(TENANT_PARAMETER))


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
    #: Whether this repository's statements may cross tenants (only :class:`SystemRepository`'s).
    crosses_tenants: ClassVar[bool] = False

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

    def _in_tenant(self) -> ColumnElement[bool]:
        # The one place a scoped repository writes its tenant predicate; every helper below
        # starts from it.
        return self.model.tenant_id == self.tenant_id

    def _scope(self, statement: Select) -> Select:
        # The loader criteria carry the tenant into what the ORM loads on its own behalf for
        # these rows (a relationship's selectin or lazy load), which no ``where`` here reaches.
        tenant_id = self.tenant_id
        return super()._scope(statement).where(self._in_tenant()).options(
            with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True))

    def core_select(self, *columns: Any) -> Select:
        """A ``SELECT`` of columns or expressions over this model's rows in the tenant.

        For reads that want plain rows (a status, a sum, a ``GROUP BY``) rather than entities;
        soft-deleted rows stay hidden, as in :meth:`select`.
        """
        return self._scope(select(*columns))

    def update_where(self, *criteria: Any) -> Update:
        """An ``UPDATE`` of this model's rows in the tenant that also match ``criteria``;
        add ``.values(...)``. Runs on the session or, for the engine's hot path, on its connection."""
        return update(self.model).where(self._in_tenant(), *criteria)

    def delete_where(self, *criteria: Any) -> Delete:
        """A ``DELETE`` of this model's rows in the tenant that also match ``criteria``."""
        return delete(self.model).where(self._in_tenant(), *criteria)

    def execute_prepared(self, statement: Executable, parameters: Mapping[str, Any]) -> CursorResult:
        """Run a statement of ``statements.py`` (built by :func:`prepared_update` or
        :func:`prepared_select`) on the session's connection, bound to this tenant."""
        return self.session.connection().execute(statement, {**parameters, TENANT_PARAMETER: self.tenant_id})

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


class SystemRepository(Repository[M]):
    """A repository whose statements cross tenants on purpose, each one reviewed.

    Work inside a tenant goes through :class:`ScopedRepository`. A little cannot: finding a
    bearer token before any tenant is known, the reconciler's and the poller's sweeps over
    every tenant, a job that learns its tenant from the row it loads, what belongs to a person
    rather than a tenant. Such a repository subclasses this class, says in its docstring why
    it may cross tenants (a subclass without one is refused at import), and is listed in
    :data:`app.repositories.system.SYSTEM_SCOPE`, the one place a reviewer reads them all.
    """

    crosses_tenants: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not (cls.__dict__.get("__doc__") or "").strip():
            raise TypeError(f"{cls.__name__} crosses tenants: its docstring must say why it may")

    def reencrypt_column(self, id_column: Any, token_column: Any, box: Any) -> tuple[int, list[Any]]:
        """Re-encrypt every stored secret of ``token_column`` with the newest key of ``box``
        (``flask inkwright secrets rotate``); a row whose token changed meanwhile is left as
        it is. Rows with no secret are skipped.

        :returns: how many were re-encrypted, and the ids of those no configured key decrypts.
        """
        from ..secrets import SecretUnreadableError

        table = token_column.table
        rotated, unreadable = 0, []
        for row_id, token in self.session.execute(select(id_column, token_column)
                                                  .where(token_column.is_not(None)).order_by(id_column)).all():
            try:
                fresh = box.rotate(token)
            except SecretUnreadableError:
                unreadable.append(row_id)
                continue
            self.session.execute(table.update().where(id_column == row_id, token_column == token)
                                 .values({token_column.name: fresh}))
            rotated += 1
        return rotated, unreadable
