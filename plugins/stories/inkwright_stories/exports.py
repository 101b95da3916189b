"""Stories as books to export (``stories.story``; ``app.toolkit.ExportSource``).

A story's book is its chapters in their order, each under its own title; a chapter with no
text yet (a generation still under way) is left out, and a story with none is refused by
the core as ``EXPORT_EMPTY``. Anyone who may read the tenant's stories may export one. A
story keeps no versions, so there is no ref to choose: asking for one is ``REF_NOT_FOUND``.
"""

from __future__ import annotations

import re
from typing import Any

from app.toolkit import Book, BookChapter, ExportSource, RefNotFoundError

from .repositories import StoryRepository

KIND = "stories.story"


class StoryExports(ExportSource):
    kind = KIND

    def find(self, repos: Any, subject_id: str, principal: Any = None) -> Any | None:
        # The repository is scoped to the caller's tenant and hides deleted stories; the role
        # decides the rest (a guest of the tenant reads no stories).
        if principal is not None and not principal.can("stories", "read"):
            return None
        return repos.get(StoryRepository).get(subject_id)

    def resolve(self, repos: Any, subject: Any, ref: str | None, branch: str | None) -> tuple[str | None, str | None]:
        if ref or branch:
            field = "sourceRef" if ref else "sourceBranch"
            message = "A story has no versions to choose from: leave sourceRef and sourceBranch out."
            raise RefNotFoundError(message, {"fields": {field: [message]}})
        return None, None

    def book(self, repos: Any, subject: Any, ref: str | None) -> Book:
        writer = repos.users.get(subject.created_by_user_id) if subject.created_by_user_id else None
        chapters = tuple(BookChapter(chapter.title, chapter.content) for chapter in subject.chapters
                         if chapter.content.strip())
        details = subject.details or {}
        return Book(title=subject.title, author=name_of(writer), chapters=chapters,
                    description=" · ".join(str(details[key]) for key in ("genre", "theme") if details.get(key)),
                    identifier=f"{KIND}:{subject.id}")

    def file_stem(self, subject: Any) -> str:
        return re.sub(r"[^a-z0-9]+", "-", subject.title.lower()).strip("-")[:60].rstrip("-") or "story"


def name_of(writer: Any) -> str:
    """The author a book names: the person's name, else their username; never their email,
    which a shared file should not carry."""
    return (writer.name or writer.username or "Anonymous") if writer is not None else "Anonymous"
