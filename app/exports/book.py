"""A book to export: what a plugin's export source hands the core (seed 003 table 8).

A source (DraftForge's project at a commit, a story, an article) yields one :class:`Book`: its
title, author, language and description, its chapters in reading order (a title and the
chapter's Markdown), and optionally a cover image. The formats (``app/exports/formats``)
never read a plugin's tables; they read only this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: What a cover may be: EPUB readers and Typst both take these.
COVER_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


_LEADING_TITLE = re.compile(r"\A\s*#[ \t]+(?P<title>[^\n]*?)(?:[ \t]+#+)?[ \t]*(?:\n|\Z)")


@dataclass(frozen=True)
class BookChapter:
    title: str
    markdown: str

    @property
    def body(self) -> str:
        """The Markdown less a first ``# heading`` that repeats the title (DraftForge's chapters
        begin ``# Title``): every format sets the chapter's title itself."""
        found = _LEADING_TITLE.match(self.markdown)
        if found and " ".join(found["title"].split()) == " ".join(self.title.split()):
            return self.markdown[found.end():].lstrip("\n")
        return self.markdown


@dataclass(frozen=True)
class Book:
    title: str
    author: str
    chapters: tuple[BookChapter, ...]
    language: str = "en"
    description: str = ""
    #: PNG or JPEG bytes, or None.
    cover: bytes | None = None
    #: Stable across exports of the same source: an EPUB's identifier is made from it.
    identifier: str = ""

    @property
    def cover_media_type(self) -> str | None:
        return cover_media_type(self.cover) if self.cover else None

    @property
    def words(self) -> int:
        return sum(len(chapter.markdown.split()) for chapter in self.chapters)


def cover_media_type(content: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` by the bytes' signature; None for anything else."""
    return next((kind for magic, kind in COVER_TYPES.items() if content.startswith(magic)), None)


@dataclass(frozen=True)
class ExportSettings:
    """How the book is laid out (the export's ``settings``; a project's ``compilation``
    settings give the defaults)."""

    title_page: bool = True
    table_of_contents: bool = True
    #: A page size Typst knows: a4, a5, us-letter, …
    page_size: str = "a5"
    font_size: int = 11
    extra: dict = field(default_factory=dict)
