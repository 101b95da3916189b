"""Where books come from: the plugins' export sources (``Plugin.export_sources()``) and the
core's own, a workflow run, whose completed steps' texts are its chapters.

A source finds a subject for a caller who may export it (``find``), resolves the ref the
export reads at (``resolve``: a commit for a manuscript in git; nothing for a run, which does
not change once written) and reads the :class:`~.book.Book` at that ref (``book``). The job
calls ``find`` again with no principal (the platform acting for the tenant) and reads the
book at the ref resolved when the export was asked for.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ..errors import ValidationError
from ..registry import PluginRegistry, declared_kinds
from ..repositories import Repositories, as_uuid
from ..run_texts import texts_of_run
from .book import Book, BookChapter

RUN_KIND = "inkwright.run"


class ExportSource:
    """One kind of thing a person can export. Subclass it in a plugin and return an instance
    from ``Plugin.export_sources()``."""

    kind: ClassVar[str] = ""

    def find(self, repos: Repositories, subject_id: str, principal: Any = None) -> Any | None:
        """The subject, if it exists for the caller and ``principal`` may export it (None: the
        platform acting, which is not asked); None otherwise (a 404, whatever the reason)."""
        raise NotImplementedError

    def resolve(self, repos: Repositories, subject: Any, ref: str | None,
                branch: str | None) -> tuple[str | None, str | None]:
        """``(ref, branch)`` the export reads at, ``ref`` resolved so it cannot move.

        :raises RefNotFoundError: for a ref or branch the subject does not have.
        """
        return None, None

    def book(self, repos: Repositories, subject: Any, ref: str | None) -> Book:
        raise NotImplementedError

    def default_settings(self, subject: Any) -> dict[str, Any]:
        """Layout defaults for this subject (a DraftForge project's ``compilation`` settings)."""
        return {}

    def file_stem(self, subject: Any) -> str:
        """The downloaded file's name before ``-<sha7>.<ext>``."""
        return "export"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:60].rstrip("-") or "export"


class RunExports(ExportSource):
    """A workflow run of the tenant, its completed steps' texts as chapters; anyone who may
    read the tenant's runs may export one."""

    kind = RUN_KIND

    def find(self, repos: Repositories, subject_id: str, principal: Any = None) -> Any | None:
        if principal is not None and not principal.can("runs", "read"):
            return None  # a guest of the tenant, say: its runs are not theirs to read
        run_id = as_uuid(subject_id)
        return repos.runs.get(run_id) if run_id else None

    def book(self, repos: Repositories, subject: Any, ref: str | None) -> Book:
        author = repos.users.get(subject.created_by_user_id) if subject.created_by_user_id else None
        chapters = tuple(BookChapter(step.step_key.replace("_", " ").replace("-", " ").capitalize(), step.text)
                         for step in texts_of_run(repos, subject.id))
        return Book(title=self._title(subject), author=(author.name or author.email) if author else "Inkwright",
                    chapters=chapters, identifier=f"{RUN_KIND}:{subject.id}")

    def file_stem(self, subject: Any) -> str:
        return slug(self._title(subject))

    @staticmethod
    def _title(run: Any) -> str:
        inputs = run.inputs if isinstance(run.inputs, dict) else {}
        named = next((inputs[key] for key in ("title", "topic") if isinstance(inputs.get(key), str)), None)
        return " ".join(named.split())[:200] if named and named.strip() else f"{run.workflow_name} run"


def export_sources(registry: PluginRegistry) -> dict[str, ExportSource]:
    """Every source by kind: the core's, then each enabled plugin's (a kind declared twice
    keeps the first)."""
    return declared_kinds(registry, {RUN_KIND: RunExports()}, "export_sources", ExportSource)


def export_source(registry: PluginRegistry, kind: str) -> ExportSource:
    """:raises ValidationError: for a kind no installed plugin exports."""
    sources = export_sources(registry)
    if kind not in sources:
        raise ValidationError("No installed plugin exports subjects of this kind.",
                              {"fields": {"subjectKind": [f"Not one of: {', '.join(sorted(sources))}."]}})
    return sources[kind]
