"""What the checks read and what they report: a manuscript file in, findings out.

Both are frozen dataclasses so a finding can be put in a set, compared in a test and handed
to an agent without anyone changing it on the way. ``LineIndex`` turns the character offsets
the checks' regexes give into the 1-based lines a reviewer reads.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem at one line of one file.

    ``severity`` is ``"error"`` for a contradiction the manuscript cannot keep (a wrong weekday,
    eyes that change colour), ``"warning"`` for a habit worth a look, ``"info"`` for a note.
    ``confidence`` is below 1 when the check had to guess (a pronoun it attributed, two towers
    that may not be the same one).
    """

    file: str
    line: int
    severity: str
    category: str
    message: str
    suggestion: str | None = None
    confidence: float = 1.0


@dataclass(frozen=True)
class ManuscriptFile:
    """A chapter (or any manuscript file) as text, with where it sits in the book.

    ``path`` is the file's path in the manuscript's repository (``chapters/03-the-tower.md``):
    findings name it as it is, so a reviewer can open it. ``chapter_index`` orders the chapters
    for the checks that look back a number of chapters; without it, the order given is the order.
    """

    path: str
    text: str
    chapter_index: int | None = None
    title: str | None = None


class LineIndex:
    """The 1-based line of any character offset in one text, by bisection over line starts.

    Built once per file (one pass over the text), then each lookup is logarithmic, so a check
    that reports many findings in a long chapter stays linear in the chapter's size.
    """

    def __init__(self, text: str) -> None:
        starts = [0]
        position = text.find("\n")
        while position != -1:
            starts.append(position + 1)
            position = text.find("\n", position + 1)
        self._starts = starts

    def line_of(self, offset: int) -> int:
        """The line holding ``offset``; an offset on a newline belongs to the line it ends."""
        return bisect_right(self._starts, offset)


def line_of(text: str, offset: int) -> int:
    """The 1-based line of ``offset`` in ``text``, for a single lookup (use ``LineIndex`` for many)."""
    return text.count("\n", 0, offset) + 1
