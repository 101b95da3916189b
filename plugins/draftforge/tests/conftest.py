"""DraftForge's test fixtures: projects made as their owner would, through the project service,
with a manuscript committed to the project's real repository, and the fixture manuscript."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from flask import g
from inkwright_draftforge.manuscript_values import Author, Put
from inkwright_draftforge.projects import ProjectService
from inkwright_draftforge.repository_store import open_manuscript

from app.auth.principal import Principal
from app.models import Role
from app.runtime import current_state

FIXTURE = Path(__file__).parent / "fixtures" / "manuscript"


@pytest.fixture
def fixture_files() -> dict[str, str]:
    """The fixture manuscript, by path in the repository (chapters/…, manuscript/facts.md)."""
    return {str(path.relative_to(FIXTURE)): path.read_text() for path in sorted(FIXTURE.rglob("*.md"))}


@contextmanager
def acting_as(app, account, role: Role = Role.OWNER) -> Iterator[None]:
    """An app context in which ``account`` is signed in to its own tenant."""
    with app.test_request_context():
        g.inkwright_principal = Principal(account.user, account.tenant_id, role, "session")
        yield


@pytest.fixture
def make_project(app):
    """``make_project(account, files=None, **fields) -> project id``: a project of the account's,
    its manuscript holding ``files`` (path → text) in one commit by the owner."""

    def make(account, files: dict[str, str] | None = None, **fields) -> str:
        with acting_as(app, account):
            service = ProjectService(g.inkwright_principal, current_state().clock)
            values = {"name": "The Lighthouse", "slug": "the-lighthouse", "project_type": "novel", **fields}
            project = service.create(**values)
            if files:
                manuscript = open_manuscript(project)
                author = Author(account.user.name or "Writer", account.email)
                manuscript.commit_changes([Put(path, text) for path, text in files.items()], author,
                                          "The manuscript so far", base=manuscript.head())
            return str(project.id)

    return make
