"""Articles as books to export (``writeit.article``; ``app.toolkit.ExportSource``).

An article's book is its final text, one chapter per ``## section`` the polish step wrote
(an opening before the first section is a chapter under the article's title). The text is
that of one run of the article's family: the run it follows when the export is asked for,
or the one named as ``sourceRef``, so a branch started while the job waits does not change
what it reads. An article none of whose runs has finished has nothing to export
(``EXPORT_EMPTY``). Anyone who may read the tenant's articles may export one.

The instant Markdown, HTML and YAML downloads of :mod:`.export` stay as they are; this is
the worker-made book (EPUB, PDF, DOCX, HTML or Markdown) of the core's export jobs.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.toolkit import Book, BookChapter, ExportSource, RefNotFoundError, StepStatus

from .export import filename
from .repositories import ArticleRepository

KIND = "writeit.article"

_TITLE_LINE = re.compile(r"\A\s*#[ \t]+[^\n]*(?:\n|\Z)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SECTION = re.compile(r"^ {0,3}##[ \t]+(?P<heading>.*?)(?:[ \t]+#+)?[ \t]*$")


class ArticleExports(ExportSource):
    kind = KIND

    def find(self, repos: Any, subject_id: str, principal: Any = None) -> Any | None:
        # The repository is scoped to the caller's tenant; the role decides the rest.
        if principal is not None and not principal.can("articles", "read"):
            return None
        return repos.get(ArticleRepository).get(subject_id)

    def resolve(self, repos: Any, subject: Any, ref: str | None, branch: str | None) -> tuple[str | None, str | None]:
        """The run to read: ``ref`` when it is one of the article's runs, else the current one.

        :raises RefNotFoundError: for a run outside the article's family, or any branch name
            (an article's branches are runs: name one as ``sourceRef``).
        """
        if branch:
            raise _no_such("sourceBranch", "An article's branches are its runs: name one as sourceRef.")
        if not ref:
            return str(subject.current_run_id), None
        run = repos.runs.get(ref)
        if run is None or run.root_run_id != subject.root_run_id:
            raise _no_such("sourceRef", f"No run {ref!r} among this article's runs.")
        return str(run.id), None

    def book(self, repos: Any, subject: Any, ref: str | None) -> Book:
        title, body = self._text(repos, subject, ref)
        writer = repos.users.get(subject.created_by_user_id) if subject.created_by_user_id else None
        return Book(title=title, author=name_of(writer), chapters=sections(title, body),
                    description=" ".join(subject.topic.split())[:500], identifier=f"{KIND}:{subject.id}")

    def file_stem(self, subject: Any) -> str:
        return filename(subject, "md").removesuffix(".md")

    @staticmethod
    def _text(repos: Any, article: Any, ref: str | None) -> tuple[str, str]:
        """``(title, body)`` of the run's final text; an empty body for a run not finished."""
        fallback = article.title or " ".join(article.topic.split())[:300]
        if (ref is None or ref == str(article.current_run_id)) and article.final_markdown:
            return fallback, _TITLE_LINE.sub("", article.final_markdown, count=1)
        if ref is None:
            return fallback, ""
        # Another run of the family (or the current one before its final text was written):
        # its text is what finishing it writes (articles.finish_article), the polished
        # sections under the outline's title.
        steps = {step.step_id: step for step in repos.run_steps.of_run(uuid.UUID(ref))}
        polish, outline = steps.get("polish"), steps.get("outline")
        if polish is None or polish.status != StepStatus.COMPLETED or not isinstance(polish.output, dict):
            return fallback, ""
        outlined = outline.output if outline is not None and isinstance(outline.output, dict) else {}
        return (outlined.get("title") or fallback), str(polish.output.get("text") or "")


def sections(title: str, body: str) -> tuple[BookChapter, ...]:
    """The chapters of an article: one per ``## heading`` outside code blocks, the text before
    the first one under ``title``; sections with no text are left out."""
    found: list[tuple[str, list[str]]] = [(title, [])]
    fence = None
    for line in body.splitlines():
        # A "## " inside a fenced code block is code, not a section (CommonMark's fences).
        marker = _FENCE.match(line)
        if marker and fence is None:
            fence = marker.group(1)
        elif marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
            fence = None
        heading = _SECTION.match(line) if fence is None else None
        if heading and heading["heading"].strip():
            found.append((heading["heading"].strip(), []))
        else:
            found[-1][1].append(line)
    return tuple(BookChapter(heading, "\n".join(lines).strip() + "\n") for heading, lines in found
                 if "\n".join(lines).strip())


def name_of(writer: Any) -> str:
    """The author a book names: the person's name, else their username; never their email,
    which a shared file should not carry."""
    return (writer.name or writer.username or "Anonymous") if writer is not None else "Anonymous"


def _no_such(field: str, message: str) -> RefNotFoundError:
    return RefNotFoundError(message, {"fields": {field: [message]}})
