"""What one render of a person's template may spend: work, output, integer size and time.

Templates are written by tenants and rendered by the web process (``POST /api/runs`` plans a
run's first steps) as well as by workers, so a template must not be able to hold a process:
two nested ``range(6000)`` loops, ``'a' * 10**9``, ``9 ** 10**7`` or a macro calling itself
twice are all a few bytes. Jinja's sandbox bounds ``range`` only; the rest is counted here,
inside the sandbox, by :class:`BudgetedSandbox`'s hooks:

* **work** — every loop iteration (each ``{% for %}`` iterates through :func:`spend_per_item`),
  every call (functions, methods, macros) and every filter counts one operation;
* **output** — the rendered text, counted as Jinja produces it, and any string, list or
  mapping a call, filter or operator makes;
* **integers** — ``*`` and ``**`` refuse a result wider than :data:`MAX_INTEGER_BITS` before
  computing it, and a sequence repeated past the output limit;
* **time** — a wall-clock deadline, looked at every :data:`CLOCK_EVERY` operations.

Exceeding any is :class:`TemplateBudgetExceeded` (``TEMPLATE_BUDGET_EXCEEDED``), raised where
the work happens, so nothing large is ever built.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

#: Loop iterations, calls and filters one render may make (a 100-chapter outline uses ~1,000).
MAX_OPERATIONS = 200_000
#: Characters one render may produce, and the largest string or collection it may make.
MAX_OUTPUT = 1_000_000
#: Widest integer an operator may make: ~3,000 decimal digits (Python prints at most 4,300).
MAX_INTEGER_BITS = 10_000
#: Seconds one render may take.
MAX_SECONDS = 2.0
#: How often (in operations) the clock is read: reading it on every one would cost more.
CLOCK_EVERY = 256

BUDGET_CODE = "TEMPLATE_BUDGET_EXCEEDED"


class TemplateBudgetExceeded(Exception):
    """A render went past one of its limits; the message names which."""

    code = BUDGET_CODE


@dataclass
class RenderBudget:
    """The limits of one render and what it has spent so far."""

    operations: int = MAX_OPERATIONS
    output: int = MAX_OUTPUT
    seconds: float = MAX_SECONDS
    clock: Callable[[], float] = time.monotonic
    spent: int = 0
    written: int = 0
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = self.clock() + self.seconds

    def spend(self, count: int = 1) -> None:
        self.spent += count
        if self.spent > self.operations:
            raise TemplateBudgetExceeded(
                f"the template did more than {self.operations:,} loop iterations and calls")
        if self.spent % CLOCK_EVERY == 0 and self.clock() > self.deadline:
            raise TemplateBudgetExceeded(f"the template took longer than {self.seconds:g} s")

    def write(self, characters: int) -> None:
        self.written += characters
        if self.written > self.output:
            raise TemplateBudgetExceeded(f"the template wrote more than {self.output:,} characters")

    def check_size(self, value: Any) -> Any:
        """``value`` itself, unless it is a string or collection larger than the output limit."""
        if isinstance(value, (str, bytes, list, tuple, dict, set)) and len(value) > self.output:
            raise TemplateBudgetExceeded(f"the template made a value of more than {self.output:,} items")
        return value


_current: ContextVar[RenderBudget | None] = ContextVar("inkwright_render_budget", default=None)


def current_budget() -> RenderBudget:
    """The budget of the render under way; a fresh one outside any (a template compiled for
    one render and called in another still counts)."""
    return _current.get() or RenderBudget()


@contextmanager
def render_budget(make: Callable[[], RenderBudget] = RenderBudget) -> Iterator[RenderBudget]:
    """Run a render under a budget; a render inside another (a step's ``with`` mapping is
    rendered value by value) shares the outer one, so the limits are per step."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    budget = make()
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def spend_per_item(iterable: Iterable[Any]) -> Iterator[Any]:
    """Iterate, counting one operation an item (every ``{% for %}`` goes through this)."""
    budget = current_budget()
    for item in iterable:
        budget.spend()
        yield item


def _integer_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) and not isinstance(value, bool) else 0


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``*`` and ``**`` whose result would pass a limit, before computing it."""
    output = current_budget().output
    if operator == "**" and isinstance(right, int) and right > 0 and _integer_bits(left) > 1:
        if _integer_bits(left) * right > MAX_INTEGER_BITS:
            raise TemplateBudgetExceeded(f"the template made an integer wider than {MAX_INTEGER_BITS:,} bits")
    elif operator == "*":
        if _integer_bits(left) + _integer_bits(right) > MAX_INTEGER_BITS:
            raise TemplateBudgetExceeded(f"the template made an integer wider than {MAX_INTEGER_BITS:,} bits")
        for sequence, times in ((left, right), (right, left)):
            length = _length(sequence)
            if length is not None and isinstance(times, int) and length * times > output:
                raise TemplateBudgetExceeded(f"the template made a value of more than {output:,} items")


#: Filters and string methods whose arguments say how much they allocate.
SIZED = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "wordwrap", "truncate", "batch",
                   "slice"})


def check_arguments(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A width or count argument of a :data:`SIZED` callable past the output limit
    (``center(10**9)``) is refused before it allocates."""
    if name not in SIZED:
        return
    output = current_budget().output
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > output:
            raise TemplateBudgetExceeded(f"the template asked for a size over {output:,}")
