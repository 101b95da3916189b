"""Timeline: weekdays that do not fit their dates, and ages that do not fit birth years.

**Dates with a weekday.** Three written forms, weekday and month spelled out (months may be
abbreviated: *Mar*, *Sept.*):

* ``Tuesday, 14 March 2023`` (also ``Tuesday 14th March 2023``),
* ``Tuesday, March 14, 2023``,
* ``on Tuesday the 14th of March 2023``.

The weekday is checked with ``datetime``; a date that does not exist (30 February) is reported
too, as ``date_invalid``.

**Ages.** A character's birth year comes from ``Sarah was born in 1990``, ``Sarah was born on
3 May 1990``, ``Sarah, born in 1990,``. An age comes from ``Sarah was 35`` (or *is*, *turned*,
*had been*; optionally *years old*), ``Sarah, 35,``, ``Sarah, aged 35``, ``Sarah, a 35-year-old``,
``the 35-year-old Sarah`` and ``she was a 35-year-old``. The number must end the phrase
(punctuation or a word such as *and*, *when*, *in*), so *she was 40 minutes late* is no age.

*She* or *he* counts as a character only when exactly one character with a known birth year
has been named earlier in the same paragraph; the finding then has a confidence of 0.7. Names
are capitalised words; only those with a birth statement somewhere in the manuscript are checked.

**The scene's year** is the latest explicit year before the age in the same file: ``In 2023``,
``the summer of 2023``, ``during 2023``, or a date (``14 March 2023``, ``March 14, 2023``, ``March
2023``); a year that follows the age in the same sentence (``she was 33 in 2023``) comes first.
A birth statement's own year is not a scene year. With no year in the file, the age is not
checked: the check does not guess which year a chapter is set in.

An age is reported when it is more than one year away from scene year minus birth year (the
birthday may not have come yet in the scene's year, and prose rounds).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator

from .findings import Finding, LineIndex, ManuscriptFile

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = {"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
          "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
          "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
          "oct": 10, "nov": 11, "dec": 12}

_WEEKDAY = "(?P<weekday>" + "|".join(WEEKDAY_NAMES) + ")"
# Longest names first, so "Sept" is not read as "Sep" and a stray "t".
_MONTH_NAMES = "|".join(sorted((name.capitalize() for name in MONTHS), key=len, reverse=True))
_MONTH = rf"(?P<month>{_MONTH_NAMES})\.?"
_ANY_MONTH = rf"(?:{_MONTH_NAMES})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>[12]\d{3})"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"

DATE_DAY_FIRST = re.compile(rf"\b{_WEEKDAY},?\s+(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}\b")
DATE_MONTH_FIRST = re.compile(rf"\b{_WEEKDAY},?\s+{_MONTH}\s+{_DAY},?\s+{_YEAR}\b")

# Years that set a scene: "In 2023", "the summer of 2023", "14 March 2023", "March 14, 2023".
SCENE_YEAR = re.compile(rf"\b(?:(?:[Ii]n|of|[Dd]uring)\s+(?:the\s+year\s+)?|{_ANY_MONTH}\s+(?:{_ORDINAL},\s+)?)"
                        rf"{_YEAR}\b")

_NAME = r"(?P<subject>[A-Z][a-z]++)"
_SUBJECT = r"(?P<subject>[A-Z][a-z]++|[Ss]he|[Hh]e)"
# An age is a whole number of one to three digits: not the start of 2023, 40,000 or 4.5.
_AGE = r"(?P<age>\d{1,3}+)(?!\d|[.,]\d)"
# What may follow an age for it to be one: the phrase ends, or a word that starts a new one.
_AGE_ENDS = r"(?=\s*+(?:[.,;:!?)\"”’—–]|$)|\s++(?:and|but|when|that|now|then|in|at|on|by|this|last|next|so)\b)"

BIRTH = re.compile(rf"\b{_NAME}(?:,|\s+was|\s+had\s+been)\s+born\s+(?:in\s+|on\s+)?"
                   rf"(?:(?:the\s+)?{_ORDINAL}\s+(?:of\s+)?{_ANY_MONTH}\s+|{_ANY_MONTH}\s+(?:{_ORDINAL},?\s+)?)?"
                   rf"{_YEAR}\b")
AGE_STATEMENTS = (
    # Sarah was 35 / she had been 35 years old / he turned 35
    re.compile(rf"\b{_SUBJECT}\s+(?:was|is|had\s+been|has\s+been|turned|turns|would\s+be|will\s+be)\s+"
               rf"(?:(?:now|just|already|only|nearly|almost|about|barely)\s+)?{_AGE}"
               rf"(?:\s+years?\s+old|\s+years?\s+of\s+age)?{_AGE_ENDS}"),
    # she was a 35-year-old
    re.compile(rf"\b{_SUBJECT}\s+(?:was|is)\s+an?\s+{_AGE}-year-old\b"),
    # Sarah, aged 35 / she, aged 35
    re.compile(rf"\b{_SUBJECT},?\s+aged\s+{_AGE}\b"),
    # Sarah, 35,
    re.compile(rf"\b{_NAME},\s+{_AGE},"),
    # Sarah, a 35-year-old
    re.compile(rf"\b{_NAME},\s+(?:a|now|then)\s+{_AGE}-year-old\b"),
    # the 35-year-old Sarah
    re.compile(rf"\b{_AGE}-year-old\s+{_NAME}\b"),
)
CAPITALISED = re.compile(r"\b[A-Z][a-z]++\b")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*+(?=\n)")
SENTENCE_STOP = re.compile(r"[.!?]")
PRONOUNS = frozenset({"she", "he"})
# Capitalised words that begin "... was born in 1990" without being a character's name.
NOT_NAMES = frozenset({"She", "He", "It", "They", "We", "You", "Who", "Everyone", "Nobody", "Someone", "Anyone",
                       "One", "The", "This", "That", "There", "Here", "Each", "Both"})
# How far after an age a year may stand and still belong to it ("she was 33 in the spring of 2023").
YEAR_AFTER_AGE = 40


@dataclass(frozen=True)
class _Birth:
    year: int
    file: str
    line: int


@dataclass(frozen=True)
class _Age:
    subject: str
    age: int
    start: int
    end: int


def check_timeline(files: Iterable[ManuscriptFile]) -> list[Finding]:
    """Weekdays that do not match their dates, and ages that do not match birth years."""
    files = list(files)
    lines = {manuscript_file.path: LineIndex(manuscript_file.text) for manuscript_file in files}
    findings: list[Finding] = []
    births: dict[str, _Birth] = {}
    birth_spans: dict[str, list[tuple[int, int]]] = {}
    for manuscript_file in files:
        findings.extend(_check_weekdays(manuscript_file, lines[manuscript_file.path]))
        birth_spans[manuscript_file.path] = spans = []
        findings.extend(_collect_births(manuscript_file, lines[manuscript_file.path], births, spans))
    # Births first, from the whole book: an age in chapter 2 is checked against a birth in chapter 7.
    for manuscript_file in files:
        findings.extend(_check_ages(manuscript_file, lines[manuscript_file.path], births,
                                    birth_spans[manuscript_file.path]))
    return findings


def _check_weekdays(manuscript_file: ManuscriptFile, lines: LineIndex) -> Iterator[Finding]:
    text = manuscript_file.text
    for pattern in (DATE_DAY_FIRST, DATE_MONTH_FIRST):
        for match in pattern.finditer(text):
            day, month, year = int(match["day"]), MONTHS[match["month"].lower()], int(match["year"])
            line = lines.line_of(match.start())
            try:
                actual = WEEKDAY_NAMES[date(year, month, day).weekday()]
            except ValueError:
                yield Finding(manuscript_file.path, line, "error", "date_invalid",
                              f"“{match.group()}”: there is no {day} {match['month']} {year}.",
                              "Check the day of the month.")
                continue
            if actual != match["weekday"]:
                yield Finding(manuscript_file.path, line, "error", "date_weekday",
                              f"“{match.group()}”: {day} {match['month']} {year} was a {actual}, "
                              f"not a {match['weekday']}.",
                              f"Make it {actual}, or move the date.")


def _collect_births(manuscript_file: ManuscriptFile, lines: LineIndex, births: dict[str, _Birth],
                    spans: list[tuple[int, int]]) -> Iterator[Finding]:
    """Record each character's first birth year; a different one later is a finding."""
    for match in BIRTH.finditer(manuscript_file.text):
        spans.append(match.span())
        name, year, line = match["subject"], int(match["year"]), lines.line_of(match.start())
        if name in NOT_NAMES:
            continue
        earlier = births.get(name)
        if earlier is None:
            births[name] = _Birth(year, manuscript_file.path, line)
        elif earlier.year != year:
            yield Finding(manuscript_file.path, line, "error", "age_mismatch",
                          f"{name} is born in {year} here, but in {earlier.year} in {earlier.file} "
                          f"(line {earlier.line}).",
                          f"Settle on one birth year for {name}.")


def _check_ages(manuscript_file: ManuscriptFile, lines: LineIndex, births: dict[str, _Birth],
                birth_spans: list[tuple[int, int]]) -> Iterator[Finding]:
    text = manuscript_file.text
    if not births:
        return
    scene_years = _scene_years(text, birth_spans)
    year_starts = [start for start, _year in scene_years]
    for age, guessed in _attributed_ages(text, births):
        year = _scene_year(text, age, scene_years, year_starts)
        if year is None:
            continue
        birth = births[age.subject]
        expected = year - birth.year
        if abs(age.age - expected) <= 1:
            continue
        yield Finding(manuscript_file.path, lines.line_of(age.start), "error", "age_mismatch",
                      f"{age.subject} is {age.age} here, in {year}, but was born in {birth.year} "
                      f"({birth.file}, line {birth.line}), so would be {expected - 1} or {expected}.",
                      f"Change the age, the year, or {age.subject}'s birth year.",
                      confidence=0.7 if guessed else 1.0)


def _scene_years(text: str, birth_spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(offset, year)`` of each year that sets a scene, in order; birth years excluded."""
    birth_starts = [start for start, _end in birth_spans]
    years = []
    for match in SCENE_YEAR.finditer(text):
        inside = bisect_right(birth_starts, match.start()) - 1
        if inside >= 0 and birth_spans[inside][1] > match.start():
            continue  # "born in 1990" says when she was born, not when the scene is
        years.append((match.start(), int(match["year"])))
    return years


def _scene_year(text: str, age: _Age, scene_years: list[tuple[int, int]], year_starts: list[int]) -> int | None:
    after = bisect_left(year_starts, age.end)
    if after < len(scene_years):
        start, year = scene_years[after]
        if start - age.end <= YEAR_AFTER_AGE and not SENTENCE_STOP.search(text, age.end, start):
            return year
    return scene_years[after - 1][1] if after > 0 else None


def _attributed_ages(text: str, births: dict[str, _Birth]) -> Iterator[tuple[_Age, bool]]:
    """Each age of a character with a birth year, and whether a pronoun had to be attributed.

    One sweep in text order over paragraph breaks, names of known characters and ages, so the
    characters named so far in the paragraph are known at each pronoun without looking back.
    """
    events: list[tuple[int, int, object]] = []  # (offset, order at one offset, what)
    for match in PARAGRAPH_BREAK.finditer(text):
        events.append((match.start(), 0, None))
    for match in CAPITALISED.finditer(text):
        if match.group() in births:
            events.append((match.start(), 1, match.group()))
    seen: set[int] = set()
    for pattern in AGE_STATEMENTS:
        for match in pattern.finditer(text):
            if match.start("age") in seen:
                continue  # two forms read the same age
            seen.add(match.start("age"))
            events.append((match.start(), 2, _Age(match["subject"], int(match["age"]), match.start(), match.end())))
    events.sort(key=lambda event: (event[0], event[1]))
    named: set[str] = set()
    for _offset, _order, what in events:
        if what is None:
            named = set()
        elif isinstance(what, str):
            named.add(what)
        elif isinstance(what, _Age):
            if what.subject.lower() in PRONOUNS:
                if len(named) == 1:
                    yield _Age(next(iter(named)), what.age, what.start, what.end), True
            elif what.subject in births:
                yield what, False
