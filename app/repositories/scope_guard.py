"""The scope guard: watches SQL statements and reports each one that could leave its tenant.

Tenant scope is applied by construction (``base.py``); the guard is the check that the
construction holds (issue 9). The test suite turns it on (``tests/api/conftest.py`` does for
every API test), and any plugin's tests can do the same::

    with ScopeGuard(db.metadata) as guard:
        ...
    assert not guard.violations, guard.report()

A statement on a *tenant-aware* table — one with a ``tenant_id`` column — passes when:

- every such table (or alias of one) it selects from, updates or deletes from is restricted
  by ``tenant_id = <bound value>`` (or ``IN``) among the AND-ed criteria of its ``WHERE`` or
  of a join's ``ON``; a subquery is checked on its own;
- an ``INSERT`` names the row's ``tenant_id`` (left out only where the column allows a row of
  no tenant: a platform event, a person's own provider key);
- a :class:`~.base.SystemRepository`'s operation issues it (the declared system scope);
- or the ORM writes back (a flush's ``UPDATE``/``DELETE`` by primary key), reloads (an
  expired attribute) or loads the related rows of (a relationship) a row the session already
  holds: the statement that loaded the row was itself checked, and the identity map keeps the
  row to what it was. (A scoped repository's query also hands its tenant to those loads, as
  loader criteria: ``base.py``.)

Raw SQL (``text()``) fails outside the system scope: the guard cannot read it. Statements on
tables without a tenant (users, tenants, credits, mail), DDL and savepoints pass.
"""

from __future__ import annotations

import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import MetaData, Table, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ClauseElement,
    ColumnClause,
    Grouping,
    TextClause,
)
from sqlalchemy.sql.selectable import Alias, Join, Select

from .base import current_system_scope

#: Whether the ORM is flushing (or reloading expired attributes) in this thread right now.
_flushing: ContextVar[bool] = ContextVar("inkwright_scope_guard_flushing", default=False)
_reloading: ContextVar[bool] = ContextVar("inkwright_scope_guard_reloading", default=False)

#: Comparisons that restrict a column to the values given.
_RESTRICTING = (operators.eq, operators.in_op)


@dataclass(frozen=True)
class Violation:
    """A statement that could reach another tenant's rows, and the code that issued it."""

    sql: str
    reason: str
    origin: tuple[str, ...]

    def __str__(self) -> str:
        where = "\n      ".join(self.origin) or "(no app frame)"
        return f"{self.reason}\n    {self.sql}\n    from {where}"


def tenant_tables(metadata: MetaData) -> frozenset[Table]:
    """The tables of ``metadata`` that have a ``tenant_id`` column."""
    return frozenset(table for table in metadata.tables.values() if "tenant_id" in table.c)


def _origin(element: Any) -> Any:
    # The ORM annotates tables and columns; compare what lies beneath.
    return element._deannotate() if isinstance(element, ClauseElement) else element


def _conjuncts(clause: Any) -> Iterator[Any]:
    """The criteria AND-ed together in a WHERE or ON clause (an OR counts as one, unusable)."""
    if clause is None:
        return
    if isinstance(clause, Grouping):
        yield from _conjuncts(clause.element)
    elif isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        for part in clause.clauses:
            yield from _conjuncts(part)
    else:
        yield clause


def _is_bound(element: Any) -> bool:
    if isinstance(element, Grouping):
        return _is_bound(element.element)
    return isinstance(element, BindParameter)


def _restricts(criterion: Any, source: Any) -> bool:
    """Whether ``criterion`` is ``source.tenant_id = <bound value>`` (or ``IN`` bound values)."""
    if not isinstance(criterion, BinaryExpression) or criterion.operator not in _RESTRICTING:
        return False
    for column, other in ((criterion.left, criterion.right), (criterion.right, criterion.left)):
        if (isinstance(column, ColumnClause) and column.name == "tenant_id" and column.table is not None
                and _origin(column.table) is source and _is_bound(other)):
            return True
    return False


class StatementCheck:
    """Reads one statement and says what about it could leave a tenant (pure: no I/O).

    :param tenant_aware: the tables that have a ``tenant_id`` column.
    """

    def __init__(self, tenant_aware: Iterable[Table]) -> None:
        self.tenant_aware = frozenset(tenant_aware)

    def problems(self, statement: Any, rows: Sequence[Mapping[str, Any]] = ()) -> list[str]:
        """Every reason ``statement`` (executed with parameter ``rows``) is not scoped."""
        if isinstance(statement, TextClause):
            return ["raw SQL (text()) outside the system scope"]
        if not isinstance(statement, ClauseElement):
            return []
        found: list[str] = []
        for element in visitors.iterate(statement):
            if isinstance(element, TextClause):
                found.append("raw SQL (text()) inside a statement, outside the system scope")
            elif isinstance(element, Select):
                found.extend(self._select_problems(element))
            elif isinstance(element, (Update, Delete)):
                found.extend(self._write_problems(element))
            elif isinstance(element, Insert):
                found.extend(self._insert_problems(element, rows))
        return list(dict.fromkeys(found))  # one line per reason, in order

    def _is_tenant_aware(self, source: Any) -> bool:
        if isinstance(source, Alias):
            source = source.element
        return _origin(source) in self.tenant_aware

    def _select_problems(self, select: Select) -> Iterator[str]:
        sources: list[Any] = []
        criteria = list(_conjuncts(select.whereclause))

        def gather(from_: Any) -> None:
            if isinstance(from_, Join):
                gather(from_.left)
                gather(from_.right)
                criteria.extend(_conjuncts(from_.onclause))
            elif self._is_tenant_aware(from_):
                sources.append(_origin(from_))

        for from_ in select.get_final_froms():
            gather(from_)
        for source in sources:
            if not any(_restricts(criterion, source) for criterion in criteria):
                yield f"SELECT from {_name(source)} without a tenant predicate"

    def _write_problems(self, statement: Update | Delete) -> Iterator[str]:
        target = _origin(statement.table)
        if not self._is_tenant_aware(target):
            return
        if not any(_restricts(criterion, target) for criterion in _conjuncts(statement.whereclause)):
            verb = "UPDATE" if isinstance(statement, Update) else "DELETE"
            yield f"{verb} of {_name(target)} without a tenant predicate"

    def _insert_problems(self, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> Iterator[str]:
        target = _origin(statement.table)
        if not self._is_tenant_aware(target) or target.c.tenant_id.nullable:
            return
        # Insert keeps what .values() named in _values / _multi_values: no public accessor.
        named = {getattr(key, "key", key) for key in (statement._values or {})}
        for values in statement._multi_values:
            for row in values:
                named.update(getattr(key, "key", key) for key in (row if isinstance(row, Mapping) else ()))
        if "tenant_id" in named:
            return
        if rows and all("tenant_id" in row for row in rows):
            return
        yield f"INSERT into {_name(target)} that does not set tenant_id"


def _name(source: Any) -> str:
    if isinstance(source, Alias):
        return f"{source.element.name} (aliased)"
    return getattr(source, "name", str(source))


#: Where Inkwright's own code lives: the core package and the first-party plugins beside it.
_OWN_CODE = (str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[2] / "plugins"))


def _app_frames(limit: int = 4) -> tuple[str, ...]:
    """The innermost frames of Inkwright's own code that led to the statement."""
    frames = [frame for frame in traceback.extract_stack()
              if frame.filename.startswith(_OWN_CODE) and frame.filename != __file__]
    return tuple(f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames[-limit:])


class ScopeGuard:
    """Listens to every statement executed while installed and records the unscoped ones.

    :param metadata: where the tenant-aware tables are found (the app's ``db.metadata``).
    :param watching: whether to check the statement being executed now; by default every
        statement is. The API suite watches what requests and jobs issue, not what test
        fixtures set up or count.
    """

    def __init__(self, metadata: MetaData, *, watching: Callable[[], bool] = lambda: True) -> None:
        self.check = StatementCheck(tenant_tables(metadata))
        self.watching = watching
        self.violations: list[Violation] = []
        self.statements_checked = 0

    # Listening ---------------------------------------------------------------------------
    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self._before_cursor_execute)
        event.listen(Session, "before_flush", self._flush_starts)
        event.listen(Session, "after_flush", self._flush_ends)
        event.listen(Session, "after_transaction_end", self._transaction_ends)
        event.listen(Session, "do_orm_execute", self._orm_execute)

    def uninstall(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._before_cursor_execute)
        event.remove(Session, "before_flush", self._flush_starts)
        event.remove(Session, "after_flush", self._flush_ends)
        event.remove(Session, "after_transaction_end", self._transaction_ends)
        event.remove(Session, "do_orm_execute", self._orm_execute)

    def __enter__(self) -> "ScopeGuard":
        self.install()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.uninstall()

    def report(self) -> str:
        """Every violation, for an assertion message."""
        lines = [f"{len(self.violations)} statement(s) not scoped to a tenant (issue 9):"]
        lines += [f"  {number}. {violation}" for number, violation in enumerate(self.violations, 1)]
        return "\n".join(lines)

    # Events ------------------------------------------------------------------------------
    def _flush_starts(self, session: Session, flush_context: Any, instances: Any) -> None:
        _flushing.set(True)

    def _flush_ends(self, session: Session, flush_context: Any) -> None:
        _flushing.set(False)

    def _transaction_ends(self, session: Session, transaction: Any) -> None:
        _flushing.set(False)  # a failed flush ends its transaction without after_flush

    def _orm_execute(self, state: ORMExecuteState) -> Any:
        if not (state.is_column_load or state.is_relationship_load):
            return None
        token = _reloading.set(True)
        try:
            return state.invoke_statement()
        finally:
            _reloading.reset(token)

    def _before_cursor_execute(self, connection: Connection, cursor: Any, sql: str, parameters: Any,
                               context: Any, executemany: bool) -> None:
        if current_system_scope() is not None or _reloading.get() or not self.watching():
            return
        statement = _final_statement(context, sql)
        if _flushing.get() and isinstance(statement, (Update, Delete)):
            return
        self.statements_checked += 1
        problems = self.check.problems(statement, list(getattr(context, "compiled_parameters", None) or ()))
        if problems:
            shown = " ".join(sql.split())
            shown = shown if len(shown) <= 400 else shown[:397] + "..."
            self.violations.extend(Violation(shown, problem, _app_frames())
                                   for problem in problems)


#: What a driver is sent as plain text that is no query: the unit of work's own transaction control.
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _final_statement(context: Any, sql: str) -> Any:
    """The statement as it goes to the database, read just before the cursor runs it.

    Read this late, an ORM statement includes what the ORM adds while compiling it — the
    loader criteria a relationship's selectin or lazy load inherits from the query that
    loaded its parent — which the statement handed to ``execute`` does not yet show.
    """
    compiled = getattr(context, "compiled", None)
    if compiled is None:
        # Sent as text to the driver: only transaction control may be, outside the system scope.
        return None if sql.lstrip().upper().startswith(_TRANSACTION_CONTROL) else text(sql)
    state = getattr(compiled, "compile_state", None)
    final = getattr(state, "statement", None)
    return final if isinstance(final, ClauseElement) else compiled.statement
