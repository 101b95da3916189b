"""HTML: one self-contained file, its stylesheet inline, no script, the cover as a data URL.

Each chapter is the studio's own rendering (markdown-it-py, then nh3's allow-list), and the
file's own Content-Security-Policy refuses any script even opened from disk.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Callable

from ...markdown_text import render_markdown
from ..book import Book, ExportSettings

STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; line-height: 1.6; max-width: 38em; margin: 2em auto;
       padding: 0 1em; color: #1d1d1f; }
h1, h2, h3 { line-height: 1.25; } .chapter { margin-top: 3em; } .title-page { text-align: center; margin: 4em 0; }
.cover { max-width: 100%; height: auto; } pre { white-space: pre-wrap; background: #f4f4f4; padding: .6em; }
blockquote { border-left: 3px solid #ccc; margin-left: 0; padding-left: 1em; color: #444; }
nav ol { padding-left: 1.2em; } table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2em .5em; }
"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(book: Book, settings: ExportSettings, progress: Callable[[int, int], None]) -> bytes:
    lang = escape(book.language or "en")
    out = ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(book.title)}</title>", f'<meta name="author" content="{escape(book.author)}">',
           f"<style>{STYLE}</style>", "</head>", "<body>"]
    if settings.title_page:
        out.append('<header class="title-page">')
        if book.cover and book.cover_media_type:
            data = base64.b64encode(book.cover).decode("ascii")
            out.append(f'<img class="cover" alt="Cover" src="data:{book.cover_media_type};base64,{data}">')
        out.append(f"<h1>{escape(book.title)}</h1><p>{escape(book.author)}</p></header>")
    if settings.table_of_contents and book.chapters:
        items = "".join(f'<li><a href="#chapter-{n}">{escape(c.title)}</a></li>'
                        for n, c in enumerate(book.chapters, start=1))
        out.append(f'<nav aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>')
    for number, chapter in enumerate(book.chapters, start=1):
        out.append(f'<section class="chapter" id="chapter-{number}"><h2>{escape(chapter.title)}</h2>'
                   f"{render_markdown(chapter.body)}</section>")
        progress(number, len(book.chapters))
    out += ["</body>", "</html>"]
    return "\n".join(out).encode("utf-8")
