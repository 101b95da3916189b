"""What a template will spend, seen before it ever runs: the budget's limits at validate time.

:mod:`~app.workflows.template_budget` stops a render that goes past a limit, at run time,
failing its step. Much of what goes past one is written in constants — ``range(10**9)``, two
nested loops over ``range(6000)``, ``'a' * 10**9`` — and a person should hear of it when the
workflow is checked, not when a run fails. This reads the parsed template and works out
such constants without running anything: integers are computed only through
:func:`~app.workflows.template_budget.check_binop`, which refuses a result past a limit
before making it, so foresight costs nothing however large the numbers written.

What depends on inputs or other steps (``range(inputs.n)``) is left to the run's budget.
"""

from __future__ import annotations

import operator
from typing import Any, Iterator

from jinja2 import nodes
from jinja2.sandbox import MAX_RANGE

from .template_budget import MAX_OPERATIONS, TemplateBudgetExceeded, check_binop, render_budget

_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "**": operator.pow,
              "//": operator.floordiv, "%": operator.mod}


def foreseen_overruns(tree: nodes.Template) -> Iterator[str]:
    """A sentence for each limit the template's constants are sure to pass, with its line."""
    said: set[str] = set()
    for sentence in _overruns(tree):
        if sentence not in said:  # an expression inside a refused one is refused again
            said.add(sentence)
            yield sentence


def _overruns(tree: nodes.Template) -> Iterator[str]:
    with render_budget():
        for node in tree.find_all((nodes.BinExpr, nodes.Call)):
            try:
                length = _range_length(node) if isinstance(node, nodes.Call) else None
                if isinstance(node, nodes.BinExpr):
                    _constant(node)
            except TemplateBudgetExceeded as exc:
                yield f"{exc} (line {node.lineno} of the template)"
                continue
            if length is not None and length > MAX_RANGE:
                yield f"range() of {length:,} numbers; at most {MAX_RANGE:,} (line {node.lineno} of the template)"
        yield from _nested_loops(tree, 1)


def _nested_loops(node: nodes.Node, enclosing: int) -> Iterator[str]:
    """Loops over constant ranges or lists, inside one another: their iterations multiply."""
    for child in node.iter_child_nodes():
        if not isinstance(child, nodes.For):
            yield from _nested_loops(child, enclosing)
            continue
        try:
            length = _iterations(child.iter)
        except TemplateBudgetExceeded:
            length = None  # said already, where the constant is
        total = enclosing * (length if length is not None else 1)
        if total > MAX_OPERATIONS:
            yield (f"loops that make {total:,} iterations; a render may make {MAX_OPERATIONS:,} "
                   f"(line {child.lineno} of the template)")
            continue  # one sentence for the nest, not one per level
        yield from _nested_loops(child, total)


def _iterations(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.ExtensionAttribute) and len(node.args) == 1:
        node = node.args[0]  # the loop budget's own wrapper (templates.py): what it iterates
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return len(node.items)
    if isinstance(node, nodes.Const) and isinstance(node.value, (str, list, tuple)):
        return len(node.value)
    if isinstance(node, nodes.Call):
        return _range_length(node)
    return None


def _range_length(call: nodes.Call) -> int | None:
    """How many numbers ``range(...)`` with constant arguments gives; ``None`` if not such a call."""
    if not (isinstance(call.node, nodes.Name) and call.node.name == "range") or call.kwargs \
            or call.dyn_args or call.dyn_kwargs or not 1 <= len(call.args) <= 3:
        return None
    arguments = [_constant(argument) for argument in call.args]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in arguments):
        return None
    try:
        return len(range(*arguments))
    except OverflowError:  # more than the machine can count: past any limit
        return MAX_RANGE * MAX_OPERATIONS
    except ValueError:  # a step of 0: the sandbox's own error at run time
        return None


def _constant(node: nodes.Node) -> Any:
    """The value of a constant expression of numbers, strings and lists, or ``None`` if not one.

    :raises TemplateBudgetExceeded: if computing it would pass a limit (nothing is computed)."""
    if isinstance(node, nodes.Const) and isinstance(node.value, (int, str)):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)):  # as long as the source that writes it
        items = [_constant(item) for item in node.items]
        return None if any(item is None for item in items) else items
    if isinstance(node, nodes.Neg):
        value = _constant(node.node)
        return -value if isinstance(value, int) else None
    if isinstance(node, nodes.BinExpr) and node.operator in _OPERATORS:
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None:
            return None
        if node.operator == "%" and not isinstance(left, int):
            return None  # string formatting: '%09999999d' allocates as it formats; the run's budget sees it
        check_binop(node.operator, left, right)
        try:
            return _OPERATORS[node.operator](left, right)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None  # the template's own error, reported when it runs
    return None
