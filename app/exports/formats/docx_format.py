"""DOCX with python-docx: a title page, one Heading 1 per chapter, each chapter on a new page,
and the chapter's blocks in Word's own styles (headings, lists, quotes, emphasis, code).

python-docx writes text as text, so nothing needs escaping; characters XML cannot hold at
all (most control characters) are dropped first, or the file would not open.
"""

from __future__ import annotations

import io
import re
from typing import Callable

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Pt

from .. import blocks as md
from ..book import Book, ExportSettings

#: What XML 1.0 refuses: C0 controls but tab, newline and return, and the two non-characters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add_runs(paragraph, runs: tuple[md.Run, ...]) -> None:
    for run in runs:
        if run.line_break:
            paragraph.add_run().add_break()
            continue
        text = _clean(run.text)
        if "\t" in text or "\n" in text or "\r" in text:
            written = paragraph.add_run(text)  # python-docx turns these into tabs and breaks
        else:
            # python-docx's text setter walks the text a character at a time looking for tabs and
            # breaks (most of a DOCX export's time); text without them goes in as one <w:t>.
            written = paragraph.add_run()
            written._r.add_t(text)
        # Only what is set: each property written adds XML to the run, and most runs are plain.
        if run.bold:
            written.bold = True
        if run.italic:
            written.italic = True
        if run.strike:
            written.font.strike = True
        if run.code:
            written.font.name = "Courier New"


class _Styles(dict):
    """The document's paragraph styles by name, looked up once: python-docx finds a style
    named in ``add_paragraph(style="Quote")`` by walking every style, each time."""

    def __init__(self, document) -> None:
        super().__init__()
        self.document = document

    def __missing__(self, name: str):
        self[name] = self.document.styles[name]
        return self[name]


def _add_blocks(document, blocks: list[md.Block] | tuple[md.Block, ...], depth: int = 0,
                styles: _Styles | None = None) -> None:
    styles = styles if styles is not None else _Styles(document)
    for block in blocks:
        if isinstance(block, md.Heading):
            # The chapter is Heading 1; headings inside it sit one level below.
            _add_runs(document.add_heading(level=min(block.level + 1, 9)), block.runs)
        elif isinstance(block, md.Paragraph):
            _add_runs(document.add_paragraph(), block.runs)
        elif isinstance(block, md.Code):
            written = document.add_paragraph().add_run(_clean(block.text))
            written.font.name = "Courier New"
            written.font.size = Pt(9)
        elif isinstance(block, md.Rule):
            document.add_paragraph("* * *").alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, md.Quote):
            for inner in block.blocks:
                if isinstance(inner, md.Paragraph):
                    _add_runs(document.add_paragraph(style=styles["Quote"]), inner.runs)
                else:
                    _add_blocks(document, [inner], depth, styles)
        elif isinstance(block, md.ListBlock):
            style = "List Number" if block.ordered else "List Bullet"
            if depth:
                style += f" {min(depth + 1, 3)}"
            for item in block.items:
                first, *rest = item or (md.Paragraph(()),)
                _add_runs(document.add_paragraph(style=styles[style]),
                          first.runs if isinstance(first, md.Paragraph) else ())
                _add_blocks(document, [b for b in rest if not isinstance(b, md.ListBlock)], depth, styles)
                _add_blocks(document, [b for b in rest if isinstance(b, md.ListBlock)], depth + 1, styles)
        elif isinstance(block, md.Table) and block.rows:
            width = max(len(row) for row in block.rows)
            table = document.add_table(rows=len(block.rows), cols=width)
            table.style = styles["Table Grid"]
            for r, row in enumerate(block.rows):
                for c, cell in enumerate(row):
                    _add_runs(table.cell(r, c).paragraphs[0], cell)


def render(book: Book, settings: ExportSettings, progress: Callable[[int, int], None]) -> bytes:
    document = Document()
    document.core_properties.title = _clean(book.title)
    document.core_properties.author = _clean(book.author)
    document.core_properties.language = book.language or "en"
    if book.description:
        document.core_properties.subject = _clean(book.description)[:255]
    if settings.title_page:
        if book.cover and book.cover_media_type:
            document.add_picture(io.BytesIO(book.cover))
        title = document.add_paragraph(style="Title")
        title.add_run(_clean(book.title))
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        author = document.add_paragraph(_clean(book.author))
        author.alignment = WD_ALIGN_PARAGRAPH.CENTER
    styles = _Styles(document)
    for number, chapter in enumerate(book.chapters, start=1):
        if number > 1 or settings.title_page:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        document.add_heading(_clean(chapter.title), level=1)
        _add_blocks(document, md.parse(chapter.body), styles=styles)
        progress(number, len(book.chapters))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
