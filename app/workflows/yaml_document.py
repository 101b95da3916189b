"""Reading a workflow's YAML text into data, with bounds, and the line of every place in it.

YAML aliases let a few hundred bytes stand for millions of nodes (each level of ``&a [*b,
*b, …]`` multiplies the one below), and nesting deep enough exhausts Python's stack: a
402-byte upload once held a web worker for seconds and half a gigabyte. So the text is
measured while it is composed (aliases counted, not followed; nesting stopped at the bound)
and then over the composed graph, where an alias's size is counted once per use without
walking it again, before any Python value is built. Honest documents — a 5,000-step workflow, an anchor
reused for shared settings — stay far inside the bounds.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Aliases (``*name``) a document may use.
MAX_ALIASES = 100
#: Nesting of mappings and lists.
MAX_DEPTH = 64
#: Nodes of the document with every alias expanded (a 5,000-step workflow has ~50,000).
MAX_NODES = 100_000
#: Digits of an integer: Python refuses to read more than 4,300.
MAX_DIGITS = 4_300

_INT_TAG = "tag:yaml.org,2002:int"


class DocumentTooLarge(Exception):
    """A document past one of the bounds above; ``line`` is where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _MeasuringLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting aliases and depth as it composes, so one parse of the
    text both measures and builds it and nothing deeper than the bound is ever composed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise DocumentTooLarge(f"the document uses more than {MAX_ALIASES} aliases", _line(event.start_mark))
            return super().compose_node(parent, index)
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise DocumentTooLarge(f"the document nests deeper than {MAX_DEPTH} levels", _line(event.start_mark))
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_graph(root: yaml.Node) -> None:
    """Count the expanded nodes (a node reached through N aliases counts N times) without
    expanding anything: each distinct node's size is computed once, children first."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # being counted: meeting one again means it contains itself
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value) > MAX_DIGITS:
            raise DocumentTooLarge(f"an integer has more than {MAX_DIGITS:,} digits", _line(node.start_mark))
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            open_nodes.discard(id(node))
            if sizes[id(node)] > MAX_NODES:
                raise DocumentTooLarge(f"the document expands to more than {MAX_NODES:,} values "
                                       "(its aliases repeat too much)", _line(node.start_mark))
            continue
        if id(node) in open_nodes:
            raise DocumentTooLarge("the document contains itself through an alias", _line(node.start_mark))
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def read_document(source: str) -> tuple[yaml.Node | None, Any]:
    """The composed document and the data it stands for.

    :raises DocumentTooLarge: past a bound (aliases, depth, expanded size, integer digits).
    :raises yaml.YAMLError: for text that is not YAML.
    """
    loader = _MeasuringLoader(source)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_graph(root)
        return root, loader.construct_document(root)
    finally:
        loader.dispose()


def line_map(root: yaml.Node) -> dict[str, int]:
    """The line of every place in the document (``steps[2].with.prompt`` → 14).

    Iterative, and each distinct node is walked once: a node reached again through an alias
    keeps the line it was first found at."""
    lines: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                child = f"{path}.{key.value}" if path else str(key.value)
                lines[child] = key.start_mark.line + 1
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}[{index}]") for index, item in reversed(list(enumerate(node.value))))
    return lines
