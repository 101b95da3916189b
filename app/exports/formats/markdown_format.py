"""Markdown: one file, the title (and author) first, each chapter under its ``#`` heading.

Each chapter's text is the studio's inert Markdown: raw HTML outside code is escaped, so a
renderer that allows inline HTML still shows ``<script>`` as text.
"""

from __future__ import annotations

from typing import Callable

from ...markdown_text import inert_markdown
from ..book import Book, ExportSettings


def _line(text: str) -> str:
    return inert_markdown(" ".join(text.split()))


def render(book: Book, settings: ExportSettings, progress: Callable[[int, int], None]) -> bytes:
    parts = []
    if settings.title_page:
        parts.append(f"% {_line(book.title)}\n% {_line(book.author)}\n")
    for number, chapter in enumerate(book.chapters, start=1):
        parts.append(f"# {_line(chapter.title)}\n\n{inert_markdown(chapter.body).strip()}\n")
        progress(number, len(book.chapters))
    return "\n".join(parts).encode("utf-8")
