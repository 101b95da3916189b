"""Markdown as the studio shows it and as exports carry it: rendered, and never live markup.

Model output and what people type reach pages and files as Markdown. Shown, it is rendered
by markdown-it-py with raw HTML turned off (an ``<img onerror=…>`` in a topic is text, not an
element), then cleaned by nh3 — an allow-list of tags and attributes, and links only to
http(s), mailto and relative targets — so nothing a renderer or a future setting lets
through can run. Exported, raw HTML outside code is entity-escaped (``&lt;``), so a renderer
that does allow inline HTML shows the markup as text; code spans and blocks, where a person
may rightly write ``<div>``, are kept as written (renderers show them literally anyway), and
a link to ``javascript:`` (or ``vbscript:``, ``data:``) becomes a dead ``blocked-…:`` one.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# CommonMark plus tables and strikethrough (what model output uses); raw HTML off.
_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])
# The same grammar with raw HTML on, only to find where code is in a document to export.
_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "strong", "em",
    "del", "s", "code", "pre", "a", "table", "thead", "tbody", "tr", "th", "td", "img",
}
# No style attributes: the Content-Security-Policy refuses inline styles (a column's alignment is lost).
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}

#: A run of backticks and what it encloses, up to the same run (a CommonMark code span).
_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")


def render_markdown(text: str | None) -> Markup:
    """``text`` as safe HTML, ready for a template (``{{ text|markdown }}``)."""
    if not text:
        return Markup("")
    html = _RENDERER.render(text)
    return Markup(nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, url_schemes=_URL_SCHEMES,
                            link_rel="noopener noreferrer nofollow"))


def inert_markdown(text: str | None) -> str:
    """``text`` for a Markdown file: the same Markdown, with raw HTML outside code escaped so
    no renderer takes it for markup."""
    if not text:
        return text or ""
    lines = text.split("\n")
    in_code = [False] * len(lines)
    for token in _PARSER.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            for number in range(*token.map):
                in_code[number] = True
    out, prose = [], []

    def flush() -> None:
        if prose:
            out.append(_escape_outside_code_spans("\n".join(prose)))
            prose.clear()
    for line, code in zip(lines, in_code):
        if code:
            flush()
            out.append(line)
        else:
            prose.append(line)
    flush()
    return "\n".join(out)


def _escape_outside_code_spans(prose: str) -> str:
    parts, last = [], 0
    for span in _CODE_SPAN.finditer(prose):
        parts.append(_escape(prose[last:span.start()]))
        parts.append(span.group(0))
        last = span.end()
    parts.append(_escape(prose[last:]))
    return "".join(parts)


#: A link destination a renderer that does not check schemes would run.
_SCRIPT_LINK = re.compile(r"\]\(\s*(javascript|vbscript|data):", re.IGNORECASE)


def _escape(prose: str) -> str:
    # "<" alone opens every tag; ">" is left, as it starts a blockquote.
    return _SCRIPT_LINK.sub(lambda found: f"](blocked-{found.group(1).lower()}:", prose.replace("<", "&lt;"))
