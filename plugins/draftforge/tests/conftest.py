"""DraftForge's test fixtures: projects made as their owner would, through the project service,
with a manuscript committed to the project's real repository, and the fixture manuscript."""

from __future__ import annotations

import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from flask import g
from inkwright_draftforge.manuscript_values import Author, Put
from inkwright_draftforge.projects import ProjectService
from inkwright_draftforge.repository_store import open_manuscript
from werkzeug.serving import make_server

from app.auth.principal import Principal
from app.models import Role
from app.runtime import current_state

FIXTURE = Path(__file__).parent / "fixtures" / "manuscript"
GIT = "/usr/bin/git"


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


# -- The git remote, for the real git client ---------------------------------------------------

@pytest.fixture
def studio(app):
    """The app on a free loopback port, in a thread; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def git(tmp_path):
    """``git(*args, cwd=None, check=True)``: Debian's git client with a home and an author of its own."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Ada Writer", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada Writer", "GIT_COMMITTER_EMAIL": "ada@example.com", "LC_ALL": "C"}

    def run(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done

    return run
