"""Fixtures for the workflow-definition tests: the core's skills, and a loader that dedents.

Loading is pure, so most of these tests need no app: the skills mapping is the same one an
app's registry holds for the core's own entry points.
"""

from __future__ import annotations

import textwrap
from typing import Callable

import pytest

from app.skills.shaping import ShapeJson
from app.skills.template import RenderTemplate
from app.skills.testing import Echo, Noop
from app.workflows import WorkflowDefinition, parse_workflow


@pytest.fixture
def skills() -> dict[str, type]:
    return {"template.render": RenderTemplate, "json.shape": ShapeJson, "test.echo": Echo, "test.noop": Noop}


@pytest.fixture
def problems_of(skills) -> Callable[[str], list[tuple[int | None, str, str]]]:
    """Every problem of a (dedented) document as ``(line, path, message)``; none means valid."""

    def read(source: str) -> list[tuple[int | None, str, str]]:
        definition, problems = parse_workflow(textwrap.dedent(source), skills)
        assert (definition is None) == bool(problems)
        return [(problem.line, problem.path, problem.message) for problem in problems]

    return read


@pytest.fixture
def load(skills) -> Callable[[str], WorkflowDefinition]:
    """Load a (dedented) document that must be valid."""

    def read(source: str) -> WorkflowDefinition:
        definition, problems = parse_workflow(textwrap.dedent(source), skills)
        assert problems == [], [str(problem) for problem in problems]
        return definition

    return read
