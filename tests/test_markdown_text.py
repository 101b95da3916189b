"""Markdown as pages show it and exports carry it (app/markdown_text.py): rendered, never live."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.markdown_text import inert_markdown, render_markdown

PAYLOADS = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '<svg/onload=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '<iframe src="https://evil.example"></iframe>',
    '<details open ontoggle=alert(1)>',
    '![x](x" onerror="alert(1))',
    '<<script>script>alert(1)<</script>/script>',
]


def test_markdown_renders_as_html_a_reader_expects():
    html = render_markdown("# Title\n\nSome *emphasis*, **strong** and `code`.\n\n- one\n- two\n\n"
                           "| a | b |\n|---|---|\n| 1 | 2 |\n\n[a link](https://example.org)")
    assert "<h1>Title</h1>" in html
    assert "<em>emphasis</em>" in html and "<strong>strong</strong>" in html and "<code>code</code>" in html
    assert "<li>one</li>" in html and "<td>1</td>" in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


class Elements(HTMLParser):
    """Every element and attribute a browser would build from some HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def live_markup(html: str) -> list:
    """What in ``html`` could run: script-ish elements, event handlers, script links."""
    risky = []
    for tag, attributes in Elements(html).found:
        if tag in ("script", "iframe", "svg", "details", "object", "embed", "style"):
            risky.append(tag)
        risky += [f"{tag}[{name}]" for name in attributes if name.startswith("on")]
        risky += [f"{tag}[{name}]" for name, value in attributes.items()
                  if name in ("href", "src") and (value or "").strip().lower().startswith(("javascript:", "data:"))]
    return risky


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_and_markup_in_the_text_stay_text(payload):
    html = str(render_markdown(f"Before {payload} after\n\n{payload}\n"))
    assert live_markup(html) == [], html
    assert "Before" in html and "after" in html  # the text around it is shown


def test_nothing_to_render_is_empty():
    assert render_markdown(None) == "" and render_markdown("") == ""


def test_an_export_escapes_raw_html_outside_code_and_keeps_the_markdown():
    text = ("# Topic <img src=x onerror=alert(1)>\n\n> a quote\n\nInline `<b>kept</b>` and <script>x</script>.\n\n"
            "```html\n<div>kept</div>\n```\n\n    <p>indented code, kept</p>\n\n[bad](javascript:alert(1))")
    inert = inert_markdown(text)
    assert "# Topic &lt;img src=x onerror=alert(1)>" in inert
    assert "> a quote" in inert  # a blockquote is still one
    assert "`<b>kept</b>`" in inert and "&lt;script>x&lt;/script>" in inert
    assert "```html\n<div>kept</div>\n```" in inert and "    <p>indented code, kept</p>" in inert
    assert "[bad](blocked-javascript:alert(1))" in inert


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_exported_payload_renders_as_text_even_where_inline_html_is_allowed(payload):
    from markdown_it import MarkdownIt
    permissive = MarkdownIt("commonmark", {"html": True})  # a renderer that lets raw HTML through
    html = permissive.render(inert_markdown(f"{payload}\n\ntext {payload}"))
    assert live_markup(html) == [], html


def test_an_export_without_markup_is_unchanged():
    text = "# Title\n\nA paragraph with 3 > 2 and an ampersand &.\n"
    assert inert_markdown(text) == text
