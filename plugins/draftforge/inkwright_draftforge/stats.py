"""A DraftForge project's writing statistics: the counts of a Markdown chapter, and the running
totals, daily history and streaks of the seed's ``project_stats`` row.

The totals are kept up to date one commit at a time. A save changes one chapter of forty, so
``apply_commit`` is given the word and character counts of the changed files only, before and
after, and adds the difference: nothing here reads a file the commit did not touch.
``rebuild`` replays a project's commits from nothing through the same function, for a
``stats rebuild`` command and to check the incremental totals.

Pure code: no Flask, no database, no git. The plugin that wraps it reads the commit, counts
the changed files with ``count_file`` and stores what ``ProjectStats.to_json`` returns.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

# -- Counting a chapter ------------------------------------------------------------------------
#
# The rule. The prose of a chapter is its Markdown with the markup taken out: YAML front
# matter, HTML comments and tags, code fence lines, images (an image is not prose, so its alt
# text is not counted either), link and image URLs and link definitions, autolinks and bare
# URLs, footnote markers, {#id .class} attributes, and the syntax characters of headings (#),
# block quotes (>), list bullets and numbers, task boxes, tables (|), scene breaks and rules
# (* * *, ---), emphasis, strike-through and code spans (* _ ~~ `). Link text, the text inside
# code and footnotes is prose. Backslash escapes and HTML entities become the character they
# stand for. The text is NFC-normalised first, so an accent typed as a combining mark does not
# split a word.
#
# A word is a run of letters and digits (any script), which may hold an apostrophe (' or ’)
# or hyphen between two of them ("don't", "well-known" are one word each), or a point or comma
# between two digits ("3.14", "100,000"). Dashes, slashes and other punctuation separate words.
# Scripts written without spaces (Chinese, Japanese) count one word per unbroken run.
#
# A character is a non-whitespace Unicode code point of the prose, punctuation included: what
# a "characters (no spaces)" count shows. Markup characters are not prose, so not counted.

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}|~{3,}).*$", re.MULTILINE)
# One level of parentheses inside a URL, as in Wikipedia's /wiki/Title_(disambiguation).
_URL_IN_PARENTHESES = r"\((?:[^()\n]|\([^()\n]*\))*\)"
_IMAGE = re.compile(r"!\[[^\]\n]*\]" + _URL_IN_PARENTHESES)
_INLINE_LINK = re.compile(r"\[([^\]\n]*)\]" + _URL_IN_PARENTHESES)
_REFERENCE_LINK = re.compile(r"\[([^\]\n]*)\]\[[^\]\n]*\]")
_FOOTNOTE_DEFINITION = re.compile(r"^[ \t]*\[\^[^\]\n]+\]:", re.MULTILINE)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^[^\]\n]+\]")
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<(?:[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*|[^@<>\s]+@[^@<>\s]+)>")
_BARE_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_ATTRIBUTES = re.compile(r"\{[#.:][^{}\n]*\}")
_RULE_LINE = re.compile(r"^[ \t]*(?:(?:[-*_][ \t]*){3,}|=+[ \t]*)$", re.MULTILINE)
_TABLE_DELIMITER_LINE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$", re.MULTILINE)
_BLOCK_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_HEADING_MARK = re.compile(r"^[ \t]*#{1,6}(?=[ \t]|$)|[ \t]+#+[ \t]*$", re.MULTILINE)
_LIST_MARK = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?", re.MULTILINE)
_INLINE_MARK = re.compile(r"(?<!\\)(?:\*+|_+|~~|`+)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_HARD_BREAK = re.compile(r"\\$", re.MULTILINE)

_WORD = re.compile(r"[^\W_]+(?:(?:['’\-‐]|(?<=\d)[.,](?=\d))[^\W_]+)*")


@dataclass(frozen=True)
class FileCounts:
    """The counts of one file's prose."""

    words: int
    characters: int


def prose_text(markdown: str) -> str:
    """The prose of a Markdown chapter, its markup taken out (the rule above), for counting."""
    text = unicodedata.normalize("NFC", markdown.replace("\r\n", "\n").replace("\r", "\n"))
    text = _FRONT_MATTER.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    text = _FENCE_LINE.sub("", text)
    # Images before links: an image is a link with a ! in front.
    text = _IMAGE.sub("", text)
    text = _INLINE_LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    # Footnote definitions before link definitions, which "[^1]: text" would also match.
    text = _FOOTNOTE_DEFINITION.sub("", text)
    text = _FOOTNOTE_REFERENCE.sub("", text)
    text = _LINK_DEFINITION.sub("", text)
    text = _AUTOLINK.sub("", text)
    text = _BARE_URL.sub("", text)
    # A tag becomes a space, so "one<br>two" stays two words.
    text = _HTML_TAG.sub(" ", text)
    text = _ATTRIBUTES.sub("", text)
    # Rules and scene breaks before list bullets: "* * *" is not a list of bullets.
    text = _RULE_LINE.sub("", text)
    text = _TABLE_DELIMITER_LINE.sub("", text)
    text = _BLOCK_QUOTE.sub("", text)
    text = _HEADING_MARK.sub("", text)
    text = _LIST_MARK.sub("", text)
    text = text.replace("|", " ")
    text = _INLINE_MARK.sub("", text)
    text = _HARD_BREAK.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    # Entities last, so an escaped "&lt;b&gt;" stays text instead of becoming a tag to remove.
    return html.unescape(text)


def count_words(text: str) -> int:
    """The words of a Markdown chapter's prose (the rule above)."""
    return _words_in(prose_text(text))


def count_characters(text: str) -> int:
    """The non-whitespace characters of a Markdown chapter's prose (the rule above)."""
    return _characters_in(prose_text(text))


def count_file(text: str) -> FileCounts:
    """Both counts of a chapter, taking its markup out once."""
    prose = prose_text(text)
    return FileCounts(words=_words_in(prose), characters=_characters_in(prose))


def _words_in(prose: str) -> int:
    return sum(1 for _ in _WORD.finditer(prose))


def _characters_in(prose: str) -> int:
    return len("".join(prose.split()))


# -- Which files are chapters ------------------------------------------------------------------

ChapterPredicate = Callable[[str], bool]


def chapters_in(directory: str = "chapters") -> ChapterPredicate:
    """A predicate for the chapters of a project: the ``.md`` files directly inside its chapters
    directory (the seed's ``projects.chapters_directory``, "chapters" by default), as the
    manuscript's own path rules define a chapter. Paths are git's: relative, with ``/``."""
    prefix = directory.strip("/") + "/"

    def is_chapter(path: str) -> bool:
        return path.startswith(prefix) and path.endswith(".md") and "/" not in path[len(prefix):]

    return is_chapter


DEFAULT_CHAPTERS = chapters_in("chapters")


# -- The stats row -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DayStats:
    """One day of ``stats_history``: the totals when the day's last commit was applied, the words
    written that day and how many commits it had. Days without a commit have no entry."""

    date: date
    word_count: int
    chapter_count: int
    words_written_today: int
    commits: int

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "word_count": self.word_count, "chapter_count": self.chapter_count,
                "words_written_today": self.words_written_today, "commits": self.commits}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DayStats:
        return cls(date=date.fromisoformat(data["date"]), word_count=int(data["word_count"]),
                   chapter_count=int(data["chapter_count"]), words_written_today=int(data["words_written_today"]),
                   commits=int(data["commits"]))


@dataclass
class ProjectStats:
    """The seed's ``project_stats`` row, without its keys and audit columns.

    ``stats_history`` holds one entry per day that had a commit, oldest first, and keeps them
    all: a project committed to every day for ten years has 3,650 entries of about 100 bytes
    of JSON each, which a JSONB column holds without trouble and the chart thins for display.
    """

    word_count: int = 0
    chapter_count: int = 0
    character_count: int = 0
    last_commit_sha: str | None = None
    last_commit_at: datetime | None = None
    total_commits: int = 0
    current_streak_days: int = 0
    longest_streak_days: int = 0
    last_write_date: date | None = None
    stats_history: list[DayStats] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The row as JSON-ready values (what ``json.dumps`` takes), dates and times in ISO 8601.
        History is written oldest first; the seed's example lists it newest first, and
        ``from_json`` reads either order."""
        return {
            "word_count": self.word_count,
            "chapter_count": self.chapter_count,
            "character_count": self.character_count,
            "last_commit_sha": self.last_commit_sha,
            "last_commit_at": self.last_commit_at.isoformat() if self.last_commit_at else None,
            "total_commits": self.total_commits,
            "current_streak_days": self.current_streak_days,
            "longest_streak_days": self.longest_streak_days,
            "last_write_date": self.last_write_date.isoformat() if self.last_write_date else None,
            "stats_history": [day.to_json() for day in self.stats_history],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> ProjectStats:
        """The row from ``to_json``'s shape, or a database row's: a missing column takes the
        seed's default, columns that are not stats (``id``, ``project_id``, ``created_at``)
        are ignored, and ``stats_history`` may still be JSON text (SQLite returns it so)."""
        if isinstance(data, str):
            data = json.loads(data)
        history = data.get("stats_history") or []
        if isinstance(history, str):
            history = json.loads(history)
        last_commit_at = data.get("last_commit_at")
        last_write_date = data.get("last_write_date")
        return cls(
            word_count=int(data.get("word_count") or 0),
            chapter_count=int(data.get("chapter_count") or 0),
            character_count=int(data.get("character_count") or 0),
            last_commit_sha=data.get("last_commit_sha"),
            last_commit_at=_as_datetime(last_commit_at) if last_commit_at else None,
            total_commits=int(data.get("total_commits") or 0),
            current_streak_days=int(data.get("current_streak_days") or 0),
            longest_streak_days=int(data.get("longest_streak_days") or 0),
            last_write_date=_as_date(last_write_date) if last_write_date else None,
            stats_history=sorted((DayStats.from_json(day) for day in history), key=lambda day: day.date),
        )


def _as_datetime(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    # SQLite hands a TIMESTAMP WITH TIME ZONE back without its zone; the app writes UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def current_streak_on(stats: ProjectStats, today: date) -> int:
    """The streak to show on ``today``. ``current_streak_days`` is as of the last commit: a
    writer who stopped a week ago has made no commit to break it, so a page asks this."""
    if stats.last_write_date is None or today - stats.last_write_date > timedelta(days=1):
        return 0
    return stats.current_streak_days


# -- One commit --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Change:
    """What a commit does to the totals."""

    words: int
    characters: int
    chapters: int


def apply_commit(
    stats: ProjectStats,
    *,
    sha: str,
    committed_at: datetime,
    changed: Mapping[str, FileCounts | None],
    previous: Mapping[str, FileCounts],
    timezone: str | tzinfo = "UTC",
    is_chapter: ChapterPredicate = DEFAULT_CHAPTERS,
) -> ProjectStats:
    """The stats after one more commit, computed from the changed files alone; ``stats`` itself
    is left as it was.

    ``changed`` maps each file the commit added, modified or deleted to its counts after the
    commit (None: deleted). ``previous`` maps those of them that existed before to their
    counts then; a changed path missing from it is a new file. A rename is a deletion and an
    addition. The caller passes only the files whose words belong to the manuscript; chapters
    among them are those ``is_chapter`` accepts. Every commit is applied, even one that changes
    no such file (``changed={}``), so that ``total_commits`` and the day's ``commits`` count it.

    The commit is booked on its local date in ``timezone`` (the writer's, an IANA name): a
    chapter saved at 23:30 in Auckland counts for that day there, whatever UTC says. A commit
    dated before the latest history entry (a rebased branch, a skewed clock) is booked on that
    entry's day instead, so the history stays in order and each entry's totals are those at
    the end of its day. A commit whose sha is ``last_commit_sha`` (a webhook delivered twice)
    changes nothing.

    Streaks: a writing day is a day with at least one commit that added words (its net change
    of words is positive); a commit that only cuts, or moves text between chapters, is not
    writing. The current streak is the run of consecutive writing days ending on
    ``last_write_date``, and is 0 once a commit lands two or more days after it: one day
    without writing breaks it. The longest streak is the longest there has been.
    """
    if committed_at.tzinfo is None or committed_at.utcoffset() is None:
        raise ValueError("committed_at must be an aware datetime: the day a commit counts for depends on its time zone")
    if sha == stats.last_commit_sha:
        return stats
    change = _change_of(changed, previous, is_chapter)
    day = _booked_day(stats, committed_at, timezone)
    word_count = stats.word_count + change.words
    chapter_count = stats.chapter_count + change.chapters
    current_streak, last_write_date = _streak_after(stats, day, wrote=change.words > 0)
    return dataclasses.replace(
        stats,
        word_count=word_count,
        chapter_count=chapter_count,
        character_count=stats.character_count + change.characters,
        last_commit_sha=sha,
        last_commit_at=committed_at,
        total_commits=stats.total_commits + 1,
        current_streak_days=current_streak,
        longest_streak_days=max(stats.longest_streak_days, current_streak),
        last_write_date=last_write_date,
        stats_history=_history_after(stats.stats_history, day, word_count, chapter_count),
    )


def _change_of(changed: Mapping[str, FileCounts | None], previous: Mapping[str, FileCounts],
               is_chapter: ChapterPredicate) -> _Change:
    words = characters = chapters = 0
    for path, after in changed.items():
        before = previous.get(path)
        words += (after.words if after else 0) - (before.words if before else 0)
        characters += (after.characters if after else 0) - (before.characters if before else 0)
        if is_chapter(path):
            # +1 for a new chapter, -1 for a deleted one, 0 for an edit, or for deleting a
            # file that was never counted.
            chapters += (after is not None) - (before is not None)
    return _Change(words=words, characters=characters, chapters=chapters)


def _booked_day(stats: ProjectStats, committed_at: datetime, timezone: str | tzinfo) -> date:
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    day = committed_at.astimezone(zone).date()
    if stats.stats_history:
        day = max(day, stats.stats_history[-1].date)
    if stats.last_write_date:
        day = max(day, stats.last_write_date)
    return day


def _streak_after(stats: ProjectStats, day: date, *, wrote: bool) -> tuple[int, date | None]:
    """The current streak and last writing day after a commit booked on ``day``."""
    last = stats.last_write_date
    one_day = timedelta(days=1)
    if not wrote:
        alive = last is not None and day - last <= one_day
        return (stats.current_streak_days if alive else 0), last
    if last == day:
        return stats.current_streak_days, day
    if last is not None and day - last == one_day:
        return stats.current_streak_days + 1, day
    return 1, day


def _history_after(history: list[DayStats], day: date, word_count: int, chapter_count: int) -> list[DayStats]:
    """The history with ``day``'s entry updated to the new totals, or added.

    Words written on a day are its net gain, never negative: the day's closing word count
    minus the one before its first commit (the previous entry's, or 0 for the first day).
    Writing 300 words and cutting 500 is 0 written, not 300; a first commit importing a
    finished draft counts all its words as written that day.
    """
    today = history[-1] if history and history[-1].date == day else None
    earlier = history[:-1] if today else history
    opening = earlier[-1].word_count if earlier else 0
    entry = DayStats(date=day, word_count=word_count, chapter_count=chapter_count,
                     words_written_today=max(0, word_count - opening), commits=(today.commits if today else 0) + 1)
    return [*earlier, entry]


# -- Replaying a project -----------------------------------------------------------------------

@dataclass(frozen=True)
class CommitRecord:
    """One commit to replay: its sha, time (aware) and the counts of the files it changed
    (None: deleted), the same ``changed`` that ``apply_commit`` takes."""

    sha: str
    committed_at: datetime
    changed: Mapping[str, FileCounts | None]


def rebuild(commits: Iterable[CommitRecord], *, timezone: str | tzinfo = "UTC",
            is_chapter: ChapterPredicate = DEFAULT_CHAPTERS) -> ProjectStats:
    """The stats of a project from nothing, replaying its commits in order (oldest first, as
    they were pushed). It keeps the counts of every file as the commits leave them, so each
    commit's ``previous`` is what ``apply_commit`` would have been given at the time: the
    result equals the stats the incremental updates built."""
    stats = ProjectStats()
    tree: dict[str, FileCounts] = {}
    for commit in commits:
        previous = {path: tree[path] for path in commit.changed if path in tree}
        stats = apply_commit(stats, sha=commit.sha, committed_at=commit.committed_at, changed=commit.changed,
                             previous=previous, timezone=timezone, is_chapter=is_chapter)
        for path, counts in commit.changed.items():
            if counts is None:
                tree.pop(path, None)
            else:
                tree[path] = counts
    return stats
