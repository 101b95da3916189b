"""A chapter's Markdown as blocks (app/exports/blocks.py): what DOCX and PDF are written from."""

from __future__ import annotations

from app.exports.blocks import Code, Heading, ListBlock, Paragraph, Quote, Rule, Run, Table, parse, plain_text


def test_headings_paragraphs_and_emphasis_become_blocks_and_runs():
    blocks = parse("## A storm\n\nShe came **home** in the *rain*, `late`, ~~never~~.\n")
    assert blocks[0] == Heading(2, (Run("A storm"),))
    runs = blocks[1].runs
    assert plain_text(runs) == "She came home in the rain, late, never."
    assert [(r.text, r.bold, r.italic, r.code, r.strike) for r in runs if r.text.strip(" ,.")] == [
        ("She came ", False, False, False, False), ("home", True, False, False, False),
        (" in the ", False, False, False, False), ("rain", False, True, False, False),
        ("late", False, False, True, False), ("never", False, False, False, True)]


def test_lists_quotes_code_rules_and_tables():
    blocks = parse("- one\n- two\n  1. inner\n\n3. three\n4. four\n\n> said\n\n```\nx = 1\n```\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    bullet = blocks[0]
    assert isinstance(bullet, ListBlock) and not bullet.ordered and len(bullet.items) == 2
    inner = bullet.items[1][1]
    assert isinstance(inner, ListBlock) and inner.ordered and plain_text(inner.items[0][0].runs) == "inner"
    numbered = blocks[1]
    assert numbered.ordered and numbered.start == 3 and len(numbered.items) == 2
    assert isinstance(blocks[2], Quote) and plain_text(blocks[2].blocks[0].runs) == "said"
    assert blocks[3] == Code("x = 1") and isinstance(blocks[4], Rule)
    assert isinstance(blocks[5], Table) and [[plain_text(c) for c in row] for row in blocks[5].rows] == [
        ["a", "b"], ["1", "2"]]


def test_markup_a_writer_typed_is_text_and_only_web_links_survive():
    blocks = parse("<script>alert(1)</script>\n\n"
                   "[bad](javascript:alert(1)) [good](https://example.com) [mail](mailto:a@b.c) [rel](/x)\n")
    assert isinstance(blocks[0], Paragraph) and plain_text(blocks[0].runs) == "<script>alert(1)</script>"
    assert [(r.text, r.link) for r in blocks[1].runs if r.text.strip()] == [
        ("[bad](javascript:alert(1)) ", None), ("good", "https://example.com"), ("mail", "mailto:a@b.c"),
        ("rel", None)]  # a link off the book (a studio path) would lead nowhere in a file
