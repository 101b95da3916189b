"""The rules for paths and chapter file names in a manuscript repository.

A path is written to a git tree, which a novelist later checks out on their own machine: a
path that climbs out (``..``), starts at the root, or walks into ``.git`` would be written
into their working copy, so every path a write names is checked here first.

Chapters are Markdown files named ``NN-slug.md``: the number orders them, the slug is for the
human reading a directory listing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

CHAPTER_SUFFIX = ".md"
CHAPTER_NAME = re.compile(r"^(?P<number>\d+)-(?P<slug>.*)\.md$")
# An ATX heading of level one; a closing run of #s (after a space) is not part of the title.
# [ \t], not \s: \s would run on past the end of the line and swallow the blank line after.
HEADING = re.compile(r"^#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
SLUG_LENGTH = 60


def normalise_text(text: str) -> str:
    """Line endings to ``\\n``: a chapter saved from Windows and from the studio compare equal."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checked_path(path: str) -> str:
    """``path`` if it is a safe relative path inside a tree, else ValueError saying why."""
    if not isinstance(path, str) or not path:
        raise ValueError("a path must be a non-empty string")
    if "\\" in path:
        raise ValueError(f"path {path!r} uses a backslash; write paths with /")
    if path.startswith("/"):
        raise ValueError(f"path {path!r} is absolute; paths are relative to the manuscript's root")
    if any(ord(character) < 32 for character in path):
        raise ValueError(f"path {path!r} contains a control character")
    parts = path.split("/")
    if any(part == "" for part in parts):
        raise ValueError(f"path {path!r} has an empty part (a doubled or trailing /)")
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"path {path!r} may not contain . or .. parts")
    # Case-insensitively, because on macOS and Windows ".GIT" is the same directory as ".git".
    if any(part.lower() == ".git" for part in parts):
        raise ValueError(f"path {path!r} names a .git directory")
    return path


def writable_path(path: str, directories: Iterable[str]) -> str:
    """``path`` if it is safe and lies inside one of the directories a manuscript may write."""
    checked_path(path)
    allowed = tuple(directories)
    if not any(path.startswith(directory + "/") for directory in allowed):
        raise ValueError(f"path {path!r} is outside the manuscript's directories ({', '.join(allowed)})")
    return path


def chapter_path(path: str, directory: str) -> str:
    """``path`` if it names a Markdown file directly inside the chapters ``directory``."""
    checked_path(path)
    if not path.startswith(directory + "/") or "/" in path[len(directory) + 1:]:
        raise ValueError(f"chapter {path!r} is not a file directly inside {directory}/")
    if not path.endswith(CHAPTER_SUFFIX):
        raise ValueError(f"chapter {path!r} is not a Markdown ({CHAPTER_SUFFIX}) file")
    return path


# -- Chapter names -----------------------------------------------------------------------------

def file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def chapter_number(path: str) -> int | None:
    """The NN of ``NN-slug.md``, or None for a chapter file named otherwise."""
    match = CHAPTER_NAME.match(file_name(path))
    return int(match["number"]) if match else None


def chapter_slug(path: str) -> str:
    """The slug of ``NN-slug.md``; the whole stem of a file named otherwise."""
    name = file_name(path)
    match = CHAPTER_NAME.match(name)
    return match["slug"] if match else name.removesuffix(CHAPTER_SUFFIX)


def reading_order(path: str) -> tuple[int, int, str]:
    """Sort key: numbered chapters by their number, then any unnumbered ones by name."""
    number = chapter_number(path)
    return (0, number, file_name(path)) if number is not None else (1, 0, file_name(path))


def slugify(title: str) -> str:
    """A file-name-safe slug: ASCII letters and digits joined by hyphens ("chapter" if none)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:SLUG_LENGTH].rstrip("-") or "chapter"


def numbered_name(directory: str, number: int, slug: str, width: int = 2) -> str:
    """``directory/NN-slug.md``; NN has at least two digits so names sort as they read."""
    return f"{directory}/{number:0{max(width, 2)}d}-{slug}{CHAPTER_SUFFIX}"


def clean_title(title: str) -> str:
    """A title on one line, its runs of whitespace made single spaces; ValueError if empty."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValueError("a chapter needs a title")
    return cleaned


def has_heading(text: str) -> bool:
    return HEADING.search(text) is not None


def title_of(path: str, text: str) -> str:
    """The first ``# `` heading of the text, or failing that the file name made readable."""
    match = HEADING.search(text)
    if match:
        return match["title"]
    words = chapter_slug(path).replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else file_name(path)


def with_title(text: str, title: str) -> str:
    """The text with its first ``# `` heading set to ``title`` (one is added if it has none)."""
    if has_heading(text):
        return HEADING.sub(lambda _: f"# {title}", text, count=1)
    return f"# {title}\n\n{text}" if text else f"# {title}\n"
