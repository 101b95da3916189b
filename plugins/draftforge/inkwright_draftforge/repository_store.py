"""Where each project's bare git repository lies: ``<instance>/draftforge/repositories/<tenant>/<project>.git``.

By ids, not by owner and slug, so renaming a project or its owner moves nothing on disk;
``DRAFTFORGE_REPOSITORIES`` puts them elsewhere (a volume of their own in production).
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from .manuscript import ManuscriptRepository
from .manuscript_values import Author
from .models import Project


def repositories_root() -> Path:
    configured = current_app.config.get("DRAFTFORGE_REPOSITORIES")
    return Path(configured) if configured else Path(current_app.instance_path) / "draftforge" / "repositories"


def repository_path(project: Project) -> Path:
    return repositories_root() / str(project.tenant_id) / f"{project.id}.git"


def open_manuscript(project: Project) -> ManuscriptRepository:
    return ManuscriptRepository.open(repository_path(project), chapters_directory=project.chapters_directory,
                                     manuscript_directory=project.manuscript_directory)


def create_manuscript(project: Project, author: Author) -> ManuscriptRepository:
    path = repository_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    return ManuscriptRepository.create(path, default_branch=project.github_default_branch, author=author,
                                       chapters_directory=project.chapters_directory,
                                       manuscript_directory=project.manuscript_directory)
