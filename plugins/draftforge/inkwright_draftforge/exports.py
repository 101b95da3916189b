"""Projects as books to export (``draftforge.project``; ``app.toolkit.ExportSource``).

The book is the manuscript at a commit: ``source_ref`` (a commit, a tag or a branch) or the
head of ``source_branch`` or of the default branch, resolved to the commit's sha when the
export is asked for, so a later push does not change what the job reads. Its chapters are
the chapters directory's files in reading order; the layout defaults come from the project's
``compilation`` settings. Exporting needs the seed's ``can_export``.
"""

from __future__ import annotations

from typing import Any

from app.toolkit import Book, BookChapter, ExportSource, RefNotFoundError

from .access import may
from .manuscript_values import RefMissing
from .repositories import ProjectRepository
from .repository_store import open_manuscript
from .subjects import KIND


class ProjectExports(ExportSource):
    kind = KIND

    def find(self, repos: Any, subject_id: str, principal: Any = None) -> Any | None:
        project = repos.get(ProjectRepository).get(subject_id)
        if project is None or project.deleted_at is not None:
            return None
        if principal is not None and not may(project, principal, "can_export"):
            return None
        return project

    def resolve(self, repos: Any, subject: Any, ref: str | None, branch: str | None) -> tuple[str | None, str | None]:
        wanted = ref or branch or subject.github_default_branch
        try:
            head = open_manuscript(subject).log(ref=wanted, limit=1)[0]
        except (RefMissing, LookupError, ValueError):
            field = "sourceRef" if ref else "sourceBranch"
            raise RefNotFoundError(f"No branch, tag or commit {wanted!r} in this manuscript.",
                                   {"fields": {field: [f"No branch, tag or commit {wanted!r} here."]}}) from None
        return head.sha, branch or (None if ref else subject.github_default_branch)

    def book(self, repos: Any, subject: Any, ref: str | None) -> Book:
        manuscript = open_manuscript(subject)
        chapters = tuple(BookChapter(chapter.title, chapter.text) for chapter in manuscript.chapters(
            ref or manuscript.head()) if chapter.text.strip())
        owner = repos.users.get(subject.user_id)
        return Book(title=subject.name, author=(owner.name or owner.username or "Anonymous") if owner else "Anonymous",
                    language=subject.language or "en", description=subject.description or "", chapters=chapters,
                    identifier=f"{KIND}:{subject.id}")

    def default_settings(self, subject: Any) -> dict[str, Any]:
        compilation = (subject.settings or {}).get("compilation") or {}
        return {"title_page": bool(compilation.get("include_cover", True))}

    def file_stem(self, subject: Any) -> str:
        return subject.slug
