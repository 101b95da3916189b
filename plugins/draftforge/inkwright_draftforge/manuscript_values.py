"""The values a manuscript repository hands out and takes in, and the errors it raises.

They are plain dataclasses with no tie to dulwich, so a plugin can serialise them, and tests
can build them, without knowing how the repository stores anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Union


@dataclass(frozen=True)
class Author:
    """Who wrote a commit. Git writes it as ``name <email>``, so neither may contain the
    characters that would end that line or that field early."""

    name: str
    email: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an author needs a name")
        for value in (self.name, self.email):
            if any(character in value for character in "<>\n\r\0"):
                raise ValueError(f"an author's name or email may not contain <, >, a newline or NUL: {value!r}")

    def identity(self) -> bytes:
        return f"{self.name} <{self.email}>".encode()


# -- Changes a commit is made of ------------------------------------------------------------

@dataclass(frozen=True)
class Put:
    """Write ``text`` at ``path``, creating the file or replacing its text."""

    path: str
    text: str


@dataclass(frozen=True)
class Delete:
    """Remove the file at ``path`` (it must exist)."""

    path: str


@dataclass(frozen=True)
class Move:
    """Rename ``old`` to ``new``, keeping its text (``old`` must exist, ``new`` must not)."""

    old: str
    new: str


Change = Union[Put, Delete, Move]


def touched_paths(changes: list[Change]) -> list[str]:
    """Every path a list of changes reads or writes, in first-seen order: the paths whose
    text must not have changed behind a writer's back."""
    paths: list[str] = []
    for change in changes:
        for path in (change.old, change.new) if isinstance(change, Move) else (change.path,):
            if path not in paths:
                paths.append(path)
    return paths


# -- What reading hands out -------------------------------------------------------------------

@dataclass(frozen=True)
class Chapter:
    """One chapter file. ``index`` is its place in reading order, 1 for the first chapter."""

    path: str
    title: str
    index: int
    text: str


@dataclass(frozen=True)
class CommitInfo:
    """One commit of the history. ``time`` is the author's time, in UTC; ``changed_paths``
    are the paths that differ from the first parent (every path, for the first commit)."""

    sha: str
    parents: list[str]
    author_name: str
    author_email: str
    message: str
    time: datetime
    changed_paths: list[str] = field(default_factory=list)


FileStatus = Literal["added", "modified", "deleted", "renamed"]


@dataclass(frozen=True)
class FileDiff:
    """How one file changed in a commit. ``old_path`` is the path before (None when the file
    was added); ``unified_diff`` is empty for a pure rename and a one-line note for a file
    that is not UTF-8 text."""

    path: str
    old_path: str | None
    status: FileStatus
    unified_diff: str
    added_lines: int
    removed_lines: int


# -- Errors -------------------------------------------------------------------------------------

class FileMissing(LookupError):
    """The path names no file at that commit."""

    def __init__(self, path: str, ref: str) -> None:
        super().__init__(f"no file {path!r} at {ref}")
        self.path = path
        self.ref = ref


class RefMissing(LookupError):
    """The name is neither a branch of the repository nor a commit in it."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"no branch or commit {ref!r}")
        self.ref = ref


class EditConflict(Exception):
    """A write was based on a commit that is no longer the branch's head, and one of the paths
    it touches was changed since. A caller shows the writer ``base_text`` (what they edited)
    against ``head_text`` (what is there now); either is None where the file did not exist."""

    def __init__(self, path: str, base_text: str | None, head_text: str | None, head_sha: str) -> None:
        super().__init__(f"{path!r} was changed since the version this edit started from (now at {head_sha[:12]})")
        self.path = path
        self.base_text = base_text
        self.head_text = head_text
        self.head_sha = head_sha


class BranchBusy(RuntimeError):
    """The branch kept moving under a write (another git client pushing) for every retry."""
