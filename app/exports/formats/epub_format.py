"""EPUB 3 with ebooklib: metadata, a navigation document and an NCX (for older readers), one
XHTML file per chapter, a stylesheet, and the cover when there is one.

Each chapter's body is the studio's sanitised rendering, re-serialised by lxml as XHTML (an
EPUB's content documents are XML: ``<br>`` must be ``<br/>``), so what ``epubcheck`` reads is
well-formed whatever the writer typed.
"""

from __future__ import annotations

import io
import uuid
from html import escape
from typing import Callable

from ebooklib import epub
from lxml import etree
from lxml import html as lxml_html

from ...markdown_text import render_markdown
from ..book import Book, ExportSettings

STYLE = b"""body { font-family: serif; line-height: 1.5; }
h1 { margin: 2em 0 1em; } .title-page { text-align: center; margin-top: 30%; }
blockquote { margin-left: 1em; font-style: italic; } pre { white-space: pre-wrap; font-size: .9em; }
"""


def _xhtml(fragment: str) -> str:
    """An HTML fragment as well-formed XHTML elements (lxml reads HTML, writes XML)."""
    if not fragment.strip():
        return ""
    holder = lxml_html.fragment_fromstring(fragment, create_parent="div")
    return "".join(etree.tostring(child, encoding="unicode", method="xml") for child in holder) \
        if len(holder) else escape(holder.text or "")


def render(book: Book, settings: ExportSettings, progress: Callable[[int, int], None]) -> bytes:
    document = epub.EpubBook()
    identifier = book.identifier or f"{book.title}\n{book.author}"
    document.set_identifier(f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'inkwright:' + identifier)}")
    document.set_title(book.title)
    document.set_language(book.language or "en")
    document.add_author(book.author)
    if book.description:
        document.add_metadata("DC", "description", book.description)
    style = epub.EpubItem(uid="style", file_name="style/book.css", media_type="text/css", content=STYLE)
    document.add_item(style)
    if book.cover and book.cover_media_type:
        extension = "png" if book.cover_media_type == "image/png" else "jpg"
        document.set_cover(f"images/cover.{extension}", book.cover, create_page=settings.title_page)

    spine: list = []
    if settings.title_page:
        title_page = epub.EpubHtml(title=book.title, file_name="title.xhtml", lang=book.language or "en")
        title_page.content = (f'<div class="title-page"><h1>{escape(book.title)}</h1>'
                              f"<p>{escape(book.author)}</p></div>")
        title_page.add_item(style)
        document.add_item(title_page)
        spine.append(title_page)
    chapters = []
    for number, chapter in enumerate(book.chapters, start=1):
        page = epub.EpubHtml(title=chapter.title, file_name=f"chapter-{number:03d}.xhtml", lang=book.language or "en")
        page.content = f"<h1>{escape(chapter.title)}</h1>{_xhtml(str(render_markdown(chapter.body)))}"
        page.add_item(style)
        document.add_item(page)
        chapters.append(page)
        progress(number, len(book.chapters))
    document.toc = chapters
    document.add_item(epub.EpubNcx())
    document.add_item(epub.EpubNav())
    document.spine = (["cover"] if book.cover and settings.title_page else []) + \
        (["nav"] if settings.table_of_contents else []) + spine + chapters
    buffer = io.BytesIO()
    epub.write_epub(buffer, document)
    return buffer.getvalue()
