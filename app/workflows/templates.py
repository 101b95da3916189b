"""Step templates: rendered in Jinja2's sandbox with strict undefined, and read ahead of time.

A ``with`` value that is exactly one expression (``"{{ steps.outline.output }}"``) renders
to the value itself — a list stays a list — so steps pass structured data; any other
string renders to text. Before anything runs, :func:`references` reads which inputs and
which steps a template uses: that is how undefined variables are reported and how the
implicit dependencies between steps are found.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterator

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .template_budget import (
    TemplateBudgetExceeded,
    check_arguments,
    check_binop,
    current_budget,
    render_budget,
    spend_per_item,
)

#: What reading a template may raise besides Jinja's own errors: an integer literal of 5,000
#: digits (which Python will not read), nesting past the parser's stack.
UNREADABLE = (ValueError, OverflowError, RecursionError, MemoryError)

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expression>.*?)\}\}\s*$", re.S)


class TemplateProblem(Exception):
    """A template that cannot be parsed or rendered; the message says why, ``code`` what kind
    (``TEMPLATE_BUDGET_EXCEEDED`` for a render past its limits, else ``TEMPLATE_ERROR``)."""

    def __init__(self, message: str, code: str = "TEMPLATE_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Reference:
    """One use of ``inputs.<name>`` or ``steps.<id>[.<field>]`` in a template."""

    root: str
    name: str | None
    field: str | None = None


def single_expression(source: str) -> str | None:
    match = _SINGLE_EXPRESSION.match(source)
    if match and "{{" not in match.group("expression") and "{%" not in source:
        return match.group("expression").strip()
    return None


class _LoopBudget(Extension):
    """Makes every ``{% for %}`` iterate through :func:`spend_per_item`, so loops count
    against the render's budget (the sandbox has no hook of its own for iteration)."""

    @staticmethod
    def each(iterable: Any) -> Any:
        return spend_per_item(iterable)


def _budgeted_filter(name: str, function: Any) -> Any:
    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.spend()
        check_arguments(name, args[1:], kwargs)
        return budget.check_size(function(*args, **kwargs))
    return budgeted


class _DataEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with a budget (template_budget.py) and dict keys before methods.

    Templates read JSON data, so a key wins over a method of the same name: Jinja's ``a.b``
    tries the attribute first, which made ``inputs.items`` (an input named ``items``) or
    ``steps.x.output.keys`` the dict's method instead of the value."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self, **options: Any) -> None:
        super().__init__(extensions=[_LoopBudget], **options)
        self.filters = {name: _budgeted_filter(name, function) for name, function in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        each = self.extensions[_LoopBudget.identifier].attr("each")
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(each, [loop.iter], [], None, None, lineno=loop.lineno)
        return tree

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return current_budget().check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's
        budget = current_budget()
        budget.spend()
        check_arguments(getattr(__obj, "__name__", ""), args, kwargs)
        return budget.check_size(super().call(__context, __obj, *args, **kwargs))


class TemplateEngine:
    """One sandboxed Jinja environment per app, with compiled templates kept for reuse."""

    def __init__(self) -> None:
        # Immutable: a template reads the run's inputs and other steps' outputs, which are
        # shared objects; `{{ inputs.topics.pop() }}` must not change them for later steps.
        self.environment = _DataEnvironment(undefined=StrictUndefined, autoescape=False,
                                            keep_trailing_newline=True)
        self._compiled: dict[str, Any] = {}

    def _compile(self, source: str) -> Any:
        compiled = self._compiled.get(source)
        if compiled is None:
            expression = single_expression(source)
            try:
                if expression is not None:
                    compiled = ("expression", self.environment.compile_expression(expression,
                                                                                  undefined_to_none=False))
                else:
                    compiled = ("template", self.environment.from_string(source))
            except TemplateError as exc:
                raise TemplateProblem(str(exc)) from exc
            except UNREADABLE as exc:
                raise TemplateProblem(f"the template cannot be read: {exc}") from exc
            if len(self._compiled) < 10_000:
                self._compiled[source] = compiled
        return compiled

    def render(self, value: Any, context: dict[str, Any]) -> Any:
        """Render every string inside ``value`` (dicts and lists are walked), all of it under
        one budget (template_budget.py).

        :raises TemplateProblem: when a template reads something that is not there, or goes
            past its budget (``code`` ``TEMPLATE_BUDGET_EXCEEDED``).
        """
        with render_budget():
            return self._render(value, context)

    def _render(self, value: Any, context: dict[str, Any]) -> Any:
        if isinstance(value, str):
            if "{" not in value:
                return value
            kind, compiled = self._compile(value)
            budget = current_budget()
            try:
                if kind == "expression":
                    result = compiled(**context)
                    if isinstance(result, str):
                        budget.write(len(result))
                else:  # produced piece by piece, so too much output stops as it grows
                    pieces = []
                    for piece in compiled.generate(**context):
                        budget.write(len(piece))
                        pieces.append(piece)
                    result = "".join(pieces)
            except TemplateBudgetExceeded as exc:
                where = _where(exc) if kind == "template" else ""  # an expression is one line
                raise TemplateProblem(f"{exc}{where}", TemplateBudgetExceeded.code) from exc
            except TemplateError as exc:
                raise TemplateProblem(str(exc)) from exc
            except Exception as exc:  # noqa: BLE001 - the sandbox lets a template raise anything
                # What a person reads is the template's problem in words, never a class name.
                raise TemplateProblem(str(exc) or "the template could not be rendered") from exc
            missing = _undefined_in(result) if kind == "expression" else None
            if missing is not None:
                # Strict means strict inside a native value too (`{{ [inputs.gone] }}`); say what
                # is missing (or refused by the sandbox), as a mixed template would.
                raise TemplateProblem(missing._undefined_message)
            return result
        if isinstance(value, dict):
            return {key: self._render(item, context) for key, item in value.items()}
        if isinstance(value, list):
            return [self._render(item, context) for item in value]
        return value

    def parse(self, source: str) -> nodes.Template:
        """:raises TemplateProblem: for a syntax error, with Jinja's message."""
        try:
            expression = single_expression(source)
            if expression is not None:
                # Parse the expression exactly as it will be compiled.
                return self.environment.parse("{{ " + expression + " }}")
            return self.environment.parse(source)
        except TemplateError as exc:
            raise TemplateProblem(str(exc)) from exc
        except UNREADABLE as exc:
            raise TemplateProblem(f"the template cannot be read: {exc}") from exc


def _where(exc: BaseException) -> str:
    """`` (line N of the template)`` from the traceback Jinja rewrote to template lines."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f" (line {line} of the template)" if line else ""


def _undefined_in(value: Any) -> StrictUndefined | None:
    """The first undefined value inside a rendered expression's (native) result, if any."""
    if isinstance(value, StrictUndefined):
        return value
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _undefined_in(item)
            if found is not None:
                return found
    return None


def _chain(node: nodes.Node) -> list[str | None] | None:
    """``steps.a.output`` → ``["steps", "a", "output"]``; a dynamic part becomes ``None``."""
    parts: list[str | None] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem):
            parts.append(node.arg.value if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)
                         else None)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return list(reversed(parts))
        else:
            return None


def _outermost_chains(node: nodes.Node) -> Iterator[list[str | None]]:
    """Every attribute chain in the tree, longest first, not counting its own sub-chains."""
    if isinstance(node, (nodes.Getattr, nodes.Getitem)):
        chain = _chain(node)
        if chain is not None:
            yield chain
            # Subscripts inside the chain (steps.x.output[inputs.i]) may hold chains too.
            inner = node
            while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
                if isinstance(inner, nodes.Getitem):
                    yield from _outermost_chains(inner.arg)
                inner = inner.node
            return
    if isinstance(node, nodes.Name) and node.ctx == "load":
        yield [node.name]
        return
    for child in node.iter_child_nodes():
        yield from _outermost_chains(child)


def references(tree: nodes.Template) -> tuple[set[str], list[Reference]]:
    """What a parsed template reads: its free variable names and its input/step references."""
    free = meta.find_undeclared_variables(tree)
    found = []
    for chain in _outermost_chains(tree):
        root = chain[0]
        if root not in free or root not in ("inputs", "steps"):
            continue
        name = chain[1] if len(chain) > 1 else None
        field = chain[2] if len(chain) > 2 else None
        found.append(Reference(root, name, field))
    return free, found
