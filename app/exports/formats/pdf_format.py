"""PDF with Typst (the ``typst`` package: its compiler and bundled fonts, no system libraries).

The book becomes a Typst document written in code mode, where every piece of the writer's
text is a Typst *string literal* (``text("…")``), escaped for a string and nothing else: a
``#``, ``$`` or ``[`` in a chapter is a character on the page, never a function call. A title
page, the contents (Typst's outline), each chapter on a new page under its heading, page
numbers.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Callable

import typst

from .. import blocks as md
from ..book import Book, ExportSettings

PAGE_SIZES = ("a4", "a5", "a6", "us-letter", "us-legal", "iso-b5")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def string(text: str) -> str:
    """``text`` as a Typst string literal."""
    escaped = _UNPRINTABLE.sub("", text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "").replace("\t", "\\t")
    return f'"{escaped}"'


def _run(run: md.Run) -> str:
    if run.line_break:
        return "linebreak()"
    piece = f"raw({string(run.text)})" if run.code else f"text({string(run.text)})"
    if run.strike:
        piece = f"strike({piece})"
    if run.italic:
        piece = f"emph({piece})"
    if run.bold:
        piece = f"strong({piece})"
    if run.link:
        piece = f"link({string(run.link)}, {piece})"
    return piece


def _inline(runs: tuple[md.Run, ...]) -> str:
    return " + ".join(_run(run) for run in runs) or "[]"


def _block(block: md.Block) -> str:
    if isinstance(block, md.Heading):
        return f"heading(level: {min(block.level + 1, 6)}, outlined: false, {_inline(block.runs)})"
    if isinstance(block, md.Paragraph):
        return f"par({_inline(block.runs)})"
    if isinstance(block, md.Code):
        return f"raw(block: true, {string(block.text)})"
    if isinstance(block, md.Rule):
        return "align(center, text(\"* * *\"))"
    if isinstance(block, md.Quote):
        return f"quote(block: true, {_content(block.blocks)})"
    if isinstance(block, md.ListBlock):
        items = ", ".join(_content(item) for item in block.items)
        return f"enum(start: {block.start}, {items})" if block.ordered else f"list({items})"
    if isinstance(block, md.Table) and block.rows:
        width = max(len(row) for row in block.rows)
        cells = ", ".join(_inline(cell) for row in block.rows for cell in (*row, *(((),) * (width - len(row)))))
        return f"table(columns: {width}, {cells})"
    return "[]"


def _content(blocks: tuple[md.Block, ...] | list[md.Block]) -> str:
    """Blocks as one Typst content value."""
    return "{ " + "; ".join(_block(block) for block in blocks) + " }" if blocks else "[]"


def document_source(book: Book, settings: ExportSettings, progress: Callable[[int, int], None],
                    cover_path: str | None = None) -> str:
    page = settings.page_size if settings.page_size in PAGE_SIZES else "a5"
    size = max(8, min(int(settings.font_size or 11), 16))
    lines = [f"#set document(title: {string(book.title)}, author: {string(book.author)})",
             f'#set page(paper: "{page}", margin: (x: 2cm, y: 2.2cm), numbering: "1")',
             f"#set text(size: {size}pt, lang: {string((book.language or 'en')[:2].lower())})",
             "#set par(justify: true)"]
    if settings.title_page:
        cover = f"image({string(cover_path)}, width: 60%); v(2em); " if cover_path else ""
        # A long title in smaller type, so the title page stays one page with the author on it.
        title_size = 24 if len(book.title) <= 60 else 16 if len(book.title) <= 160 else 12
        lines.append(f"#page(numbering: none, align(center + horizon, {{ {cover}text(size: {title_size}pt, "
                     f"strong(text({string(book.title)}))); v(1em); text(size: 14pt, text({string(book.author)})) }}))")
    if settings.table_of_contents and book.chapters:
        lines.append('#outline(title: text("Contents"), depth: 1)')
    for number, chapter in enumerate(book.chapters, start=1):
        if number > 1 or settings.title_page or settings.table_of_contents:
            lines.append("#pagebreak(weak: true)")
        lines.append(f"#heading(level: 1, text({string(chapter.title)}))")
        body = md.parse(chapter.body)
        if body:
            lines.append("#" + _content(body))
        progress(number, len(book.chapters))
    return "\n".join(lines) + "\n"


def render(book: Book, settings: ExportSettings, progress: Callable[[int, int], None]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="inkwright-typst-") as folder:
        root = Path(folder)
        cover = None
        if book.cover and book.cover_media_type:
            cover = "cover.png" if book.cover_media_type == "image/png" else "cover.jpg"
            (root / cover).write_bytes(book.cover)
        source = root / "book.typ"
        source.write_text(document_source(book, settings, progress, cover), encoding="utf-8")
        # Typst reads only inside root, and its own fonts: the machine's are not the book's.
        return typst.compile(str(source), root=str(root), format="pdf", ignore_system_fonts=True)
