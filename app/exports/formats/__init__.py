"""The export formats: each renders a :class:`~app.exports.book.Book` to the bytes of one file.

``render(book, settings, progress)`` calls ``progress(done, total)`` after each chapter, so a
job can say how far it is. Every format escapes the book's text for itself: nothing a writer
typed becomes markup (an HTML tag, a Typst function) in any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..book import Book, ExportSettings
from . import docx_format, epub_format, html_format, markdown_format, pdf_format

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    media_type: str
    #: The seed's ``export_format_version`` (EPUB 3.0; the others have none).
    version: str | None
    render: Callable[[Book, ExportSettings, Progress], bytes]


FORMATS: dict[str, ExportFormat] = {
    "epub": ExportFormat("epub", "epub", "application/epub+zip", "3.0", epub_format.render),
    "pdf": ExportFormat("pdf", "pdf", "application/pdf", None, pdf_format.render),
    "docx": ExportFormat("docx", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         None, docx_format.render),
    "html": ExportFormat("html", "html", "text/html; charset=utf-8", None, html_format.render),
    "markdown": ExportFormat("markdown", "md", "text/markdown; charset=utf-8", None, markdown_format.render),
}
