"""The export formats (app/exports/formats): a book with hostile text in every field renders
to each format, and each file is read back by a real reader — epubcheck for the EPUB,
python-docx for the DOCX, pypdf for the PDF — with no live markup in any of them."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser

import docx
import pypdf
import pytest
from PIL import Image

from app.exports.book import Book, BookChapter, ExportSettings
from app.exports.formats import FORMATS
from app.exports.formats.pdf_format import document_source

PAYLOAD = ('<script>alert(1)</script> <img src=x onerror=alert(2)> #set page(width: 1cm) $x^2$ '
           '") + text("injected [link](javascript:alert(3)) \\\\ back')
CHAPTER_TEXT = ("She came **home** in the *rain*. `code` and ~~gone~~.\n\n- one\n- two\n  1. inner\n\n"
                f"> {PAYLOAD}\n\n```\ndef x(): pass\n```\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                "Line one  \nline two\x01 [web](https://example.com)\n")


class Tags(HTMLParser):
    """Every start tag of a document with its attributes: what a browser would build."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def cover_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 90), (30, 60, 120)).save(buffer, format="PNG")
    return buffer.getvalue()


def book(chapters: int = 3, cover: bytes | None = None) -> Book:
    return Book(title=f'The "Harbour" Murders {PAYLOAD}', author="Agatha <b>C</b>", description=PAYLOAD,
                chapters=tuple(BookChapter(f"Chapter {n}: {PAYLOAD}"[:80], f"# Chapter {n}: {PAYLOAD}"[:82]
                                           + "\n\n" + CHAPTER_TEXT) for n in range(1, chapters + 1)),
                cover=cover, identifier="project-1@abc")


def rendered(name: str, source: Book | None = None, settings: ExportSettings | None = None) -> bytes:
    seen = []
    content = FORMATS[name].render(source or book(), settings or ExportSettings(), lambda done, total: seen.append(
        (done, total)))
    assert seen == [(n, len((source or book()).chapters)) for n in range(1, len((source or book()).chapters) + 1)]
    return content


def epubcheck(path) -> subprocess.CompletedProcess | None:
    jar = shutil.which("epubcheck")
    java = shutil.which("java")
    if not jar or not java:
        return None
    # Debian's epubcheck is the jar itself; run it with java (binfmt may not be registered).
    return subprocess.run([java, "-jar", jar, str(path)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cover", [None, "png"])
def test_the_epub_passes_epubcheck_with_a_navigation_document_and_a_page_per_chapter(tmp_path, cover):
    content = rendered("epub", book(cover=cover_png() if cover else None))
    path = tmp_path / "book.epub"
    path.write_bytes(content)
    names = zipfile.ZipFile(path).namelist()
    assert names[0] == "mimetype" and {"EPUB/nav.xhtml", "EPUB/toc.ncx"} <= set(names)
    assert sorted(n for n in names if re.search(r"chapter-\d{3}\.xhtml$", n)) == [
        f"EPUB/chapter-00{n}.xhtml" for n in (1, 2, 3)]
    for name in (n for n in names if n.endswith(".xhtml")):
        tags = Tags()
        tags.feed(zipfile.ZipFile(path).read(name).decode("utf-8"))
        assert "script" not in {tag for tag, _ in tags.found}, name
        assert not [attr for _, attrs in tags.found for attr, value in attrs
                    if attr.startswith("on") or "javascript:" in (value or "")], name
    checked = epubcheck(path)
    if checked is None:
        pytest.skip("epubcheck (Debian's package, with java) is not installed here; .ci/run installs it")
    assert "No errors or warnings detected" in checked.stdout, checked.stdout + checked.stderr


def test_the_docx_opens_with_a_title_page_and_one_heading_1_per_chapter():
    document = docx.Document(io.BytesIO(rendered("docx", book(cover=cover_png()))))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [f"Chapter {n}: {PAYLOAD}"[:80] for n in (1, 2, 3)]
    assert document.core_properties.title.startswith('The "Harbour" Murders')
    texts = [p.text for p in document.paragraphs]
    assert texts.count("Agatha <b>C</b>") == 1 and any("She came home in the rain" in t for t in texts)
    assert {p.style.name for p in document.paragraphs} >= {"Title", "List Bullet", "List Number 2", "Quote"}
    assert len(document.inline_shapes) == 1  # the cover
    assert all("\x01" not in t for t in texts)


def test_the_pdf_has_a_title_page_contents_and_each_chapter_on_a_page_of_its_own():
    reader = pypdf.PdfReader(io.BytesIO(rendered("pdf", book(cover=cover_png()))))
    pages = [page.extract_text() for page in reader.pages]
    assert "Agatha <b>C</b>" in pages[0] and pages[1].startswith("Contents")
    # Each chapter begins a page of its own, under its heading, in order.
    starts = [next(i for i, page in enumerate(pages) if page.startswith(f"Chapter {n}:")) for n in (1, 2, 3)]
    assert starts[0] == 2 and starts == sorted(set(starts)), starts
    assert all("She came home in the rain" in pages[i] for i in starts)
    assert [item.title for item in reader.outline][:3] == [f"Chapter {n}: {PAYLOAD}"[:80] for n in (1, 2, 3)]
    # The payload is text on the page: "#set page(width: 1cm)" did not shrink it (A5 stays A5).
    assert "#set page(width: 1cm)" in " ".join(pages[2].split())
    assert round(float(reader.pages[2].mediabox.width)) == 420


def test_typst_source_holds_the_writers_text_only_in_string_literals():
    source = document_source(book(chapters=1), ExportSettings(), lambda done, total: None)
    # Outside string literals only the generator's own calls remain.
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', source)
    assert "alert" not in code and "injected" not in code and "width: 1cm" not in code


def test_the_html_is_one_file_with_no_script_and_a_policy_of_its_own():
    html = rendered("html", book(cover=cover_png())).decode("utf-8")
    tags = Tags()
    tags.feed(html)
    assert "script" not in {tag for tag, _ in tags.found}
    assert not [(tag, name) for tag, attrs in tags.found for name, value in attrs
                if name.startswith("on") or "javascript:" in (value or "")]
    assert "default-src 'none'" in html and 'src="data:image/png;base64,' in html
    assert html.count('<section class="chapter"') == 3 and html.count("<h2>Chapter") == 3
    assert '<a href="#chapter-2">' in html  # the contents


def test_the_markdown_is_inert_and_carries_each_chapter_once():
    markdown = rendered("markdown").decode("utf-8")
    assert "<script>" not in markdown and "&lt;script>" in markdown
    assert markdown.count("# Chapter 1:") == 1, "a chapter's own '# title' is not repeated"


def test_settings_leave_out_the_title_page_and_contents():
    plain = ExportSettings(title_page=False, table_of_contents=False, page_size="a4")
    reader = pypdf.PdfReader(io.BytesIO(rendered("pdf", settings=plain)))
    pages = [page.extract_text() for page in reader.pages]
    assert pages[0].startswith("Chapter 1:") and round(float(reader.pages[0].mediabox.width)) == 595
    assert "Contents" not in rendered("html", settings=plain).decode()
