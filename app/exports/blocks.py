"""A chapter's Markdown as blocks and inline runs, for the formats that do not speak HTML.

Parsed once with the studio's own grammar (markdown-it-py, CommonMark with tables and
strikethrough, raw HTML off, so ``<script>`` typed into a chapter is text here as it is on the
page). DOCX and PDF writers walk these plain values; nothing in them is markup, so a writer
only has to escape text for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Union

from markdown_it import MarkdownIt
from markdown_it.token import Token

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    strike: bool = False
    link: str | None = None
    #: A hard line break after the text.
    line_break: bool = False


@dataclass(frozen=True)
class Heading:
    level: int
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Paragraph:
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class Quote:
    blocks: tuple["Block", ...]


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[tuple["Block", ...], ...]


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[tuple[Run, ...], ...], ...]


Block = Union[Heading, Paragraph, Code, Rule, Quote, ListBlock, Table]


def parse(markdown: str) -> list[Block]:
    """The blocks of ``markdown``, in order."""
    tokens = _PARSER.parse(markdown or "")
    blocks, _ = _blocks(tokens, 0, None)
    return blocks


def plain_text(runs: tuple[Run, ...]) -> str:
    return "".join(run.text for run in runs)


def _blocks(tokens: list[Token], index: int, closing: str | None) -> tuple[list[Block], int]:
    """Blocks from ``tokens[index:]`` up to the token of type ``closing``; the index after it."""
    blocks: list[Block] = []
    while index < len(tokens):
        token = tokens[index]
        if closing is not None and token.type == closing:
            return blocks, index + 1
        kind = token.type
        if kind == "heading_open":
            blocks.append(Heading(int(token.tag[1]), tuple(_runs(tokens[index + 1]))))
            index += 3
        elif kind == "paragraph_open":
            runs = tuple(_runs(tokens[index + 1]))
            if runs:
                blocks.append(Paragraph(runs))
            index += 3
        elif kind in ("fence", "code_block"):
            blocks.append(Code(token.content.rstrip("\n")))
            index += 1
        elif kind == "hr":
            blocks.append(Rule())
            index += 1
        elif kind == "blockquote_open":
            inner, index = _blocks(tokens, index + 1, "blockquote_close")
            blocks.append(Quote(tuple(inner)))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            ordered = kind == "ordered_list_open"
            close = "ordered_list_close" if ordered else "bullet_list_close"
            start = int(token.attrs.get("start", 1)) if ordered else 1
            items: list[tuple[Block, ...]] = []
            index += 1
            while tokens[index].type != close:
                inner, index = _blocks(tokens, index + 1, "list_item_close")  # from list_item_open
                items.append(tuple(inner))
            blocks.append(ListBlock(ordered, start, tuple(items)))
            index += 1
        elif kind == "table_open":
            rows, index = _table(tokens, index + 1)
            blocks.append(Table(rows))
        else:
            index += 1  # a token that carries no text of its own (an html block is off)
    return blocks, index


def _table(tokens: list[Token], index: int) -> tuple[tuple[tuple[tuple[Run, ...], ...], ...], int]:
    rows: list[tuple[tuple[Run, ...], ...]] = []
    cells: list[tuple[Run, ...]] = []
    while tokens[index].type != "table_close":
        kind = tokens[index].type
        if kind == "tr_open":
            cells = []
        elif kind == "inline":
            cells.append(tuple(_runs(tokens[index])))
        elif kind == "tr_close":
            rows.append(tuple(cells))
        index += 1
    return tuple(rows), index + 1


def _runs(inline: Token) -> Iterator[Run]:
    """The runs of an ``inline`` token, each with the emphasis it is inside."""
    bold = italic = strike = 0
    link: list[Optional[str]] = []
    for child in inline.children or []:
        kind = child.type
        if kind == "text":
            if child.content:
                yield Run(child.content, bold > 0, italic > 0, False, strike > 0, link[-1] if link else None)
        elif kind == "code_inline":
            yield Run(child.content, bold > 0, italic > 0, True, strike > 0, link[-1] if link else None)
        elif kind in ("softbreak",):
            yield Run(" ", bold > 0, italic > 0)
        elif kind == "hardbreak":
            yield Run("", line_break=True)
        elif kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind == "s_open":
            strike += 1
        elif kind == "s_close":
            strike -= 1
        elif kind == "link_open":
            href = str(child.attrs.get("href") or "")
            # As the studio's pages: links to the web and mail only, never javascript: or data:.
            link.append(href if href.lower().startswith(("http://", "https://", "mailto:")) else None)
        elif kind == "link_close" and link:
            link.pop()
        elif kind == "image":
            alt = "".join(grandchild.content for grandchild in child.children or [])
            if alt:
                yield Run(alt, bold > 0, True)
