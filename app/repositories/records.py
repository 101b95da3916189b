"""Plain records of rows the engine's hot path reads and writes through Core statements.

The ORM costs a step's job more than the database does (building entities, tracking
changes, flushing), and a step's job touches the same two rows every time: its own
step and its run. These records carry the same attribute names as the models, so the
scheduler works with either; a run record remembers what was changed so that
``RunRepository.locked`` writes exactly that back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import set_committed_value


def remember(row: Any, **values: Any) -> None:
    """Put values on a loaded row as if read from the database: a model is not marked
    changed (a following UPDATE writes them; no second UPDATE is flushed), a record just
    takes them."""
    mapped = hasattr(row, "_sa_instance_state")
    for key, value in values.items():
        if mapped:
            set_committed_value(row, key, value)
        else:
            setattr(row, key, value)


class StepRecord:
    """A run step as Core read it (attribute-compatible with :class:`app.models.RunStep`)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"<StepRecord {self.__dict__.get('step_key')} {self.__dict__.get('status')}>"


class RunRecord:
    """A run read under its lock (attribute-compatible with :class:`app.models.Run`, less
    its definition); changes are kept in ``changes`` until written back."""

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "changes", {})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value
        self.changes[name] = value

    def values(self) -> dict[str, Any]:
        """Every column value as it is now (changes included)."""
        return dict(self._values)

    @property
    def progress(self) -> float:
        total = self._values.get("steps_total") or 0
        return round(self._values.get("steps_done", 0) / total, 4) if total else 0.0

    def __repr__(self) -> str:
        return f"<RunRecord {self._values.get('id')} {self._values.get('status')}>"
