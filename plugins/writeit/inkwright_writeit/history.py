"""An article's history: the tree of its runs (seed 001's branches_to), built from the family."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BranchNode:
    """One run of the family and the runs branched (or updated) from it."""

    run: Any
    children: list[BranchNode] = field(default_factory=list)

    @property
    def depth_first(self) -> list[tuple[int, BranchNode]]:
        """This node and its descendants with their depth, in reading order."""
        found: list[tuple[int, BranchNode]] = []
        stack: list[tuple[int, BranchNode]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            found.append((depth, node))
            stack.extend((depth + 1, child) for child in reversed(node.children))
        return found


def branch_tree(runs: list[Any]) -> list[BranchNode]:
    """The family as trees: each run under the run it branched (or was updated) from.

    :param runs: the family, oldest first (``workflow_runs().lineage(run_id)``).
    :returns: the roots (normally one: the article's first run).
    """
    nodes: dict[uuid.UUID, BranchNode] = {run.id: BranchNode(run) for run in runs}
    roots = []
    for run in runs:
        parent = run.parent_run_id or run.base_run_id
        if parent in nodes:
            nodes[parent].children.append(nodes[run.id])
        else:
            roots.append(nodes[run.id])
    return roots


def tree_record(node: BranchNode, current_run_id: uuid.UUID) -> dict[str, Any]:
    """A node for the JSON API, children nested."""
    run = node.run
    return {
        "runId": str(run.id),
        "status": run.status.value,
        "trigger": run.trigger_type.value,
        "branchPoint": run.branch_point,
        "parentRunId": str(run.parent_run_id or run.base_run_id) if (run.parent_run_id or run.base_run_id) else None,
        "createdAt": run.created_at.isoformat() if run.created_at else None,
        "current": run.id == current_run_id,
        "children": [tree_record(child, current_run_id) for child in node.children],
    }
