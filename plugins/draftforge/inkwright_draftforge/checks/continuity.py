"""Continuity: a character's eyes or hair described one way, then another.

A statement is one of these, the name a capitalised word, the colour among a few words before
*eyes* or *hair* (or after *were*/*was*):

* ``Sarah's blue eyes``, ``Sarah's long red hair``
* ``Sarah had blue eyes``, ``Sarah has dark brown hair``
* ``Sarah's eyes were blue``, ``Sarah's hair was long and red``

Every word between the name and *eyes*/*hair* must be a colour or a describing word (*pale*,
*long*, *curly*...): so ``Sarah had seen blue eyes`` and ``Sarah's brother had brown eyes`` say
nothing about Sarah. Colours are compared by family (*gray* is *grey*, *ginger* and *auburn* are
*red*, *fair* and *golden* are *blonde*); a statement naming two colours (*blue-green*), or only
a shade (*dark hair*), is left out. Pronouns (*her eyes*) are not followed.

Each statement is compared with the earliest one about the same character and feature: the
first description is the one readers remember. With ``context_window`` = N, only statements in
the last N chapters before this one (and earlier in this one) count. A difference is an error
at the later statement.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Iterable, Iterator

from .findings import Finding, LineIndex, ManuscriptFile

COLOURS = {
    "eyes": {"blue": "blue", "brown": "brown", "green": "green", "grey": "grey", "gray": "grey",
             "hazel": "hazel", "black": "black", "amber": "amber", "violet": "violet"},
    "hair": {"red": "red", "ginger": "red", "auburn": "red", "copper": "red", "brown": "brown",
             "chestnut": "brown", "brunette": "brown", "black": "black", "blonde": "blonde", "blond": "blonde",
             "golden": "blonde", "fair": "blonde", "flaxen": "blonde", "grey": "grey", "gray": "grey",
             "silver": "grey", "white": "white"},
}
DESCRIBING_WORDS = frozenset("""
    a an the and pale dark light deep bright clear cold icy warm soft sharp striking piercing wide
    large big small narrow kind tired beautiful lovely long short curly wavy straight thick thin fine
    cropped close tangled greying graying shoulder length sky ice steel steely pure dull startling
    vivid messy unruly wild sleek glossy shining strange
""".split())
# Capitalised words that are no character: "She had blue eyes" is a pronoun, "It's" is "it is".
NOT_NAMES = frozenset({"She", "He", "It", "They", "We", "You", "I", "Her", "His", "Their", "Its", "The", "A", "An",
                       "This", "That", "These", "Those", "There", "Here", "What", "Who", "Everyone", "Nobody",
                       "Someone", "Anyone", "Everybody", "Each", "Both", "One"})

_NAME = r"\b(?P<name>[A-Z][a-z]++)"
_POSSESSIVE = r"['’]s"
# One to three lower-case words (hyphens allowed); bounded, so a mismatch costs a few steps.
_WORDS = r"(?P<words>(?:\s++[a-z]++(?:-[a-z]++)*+){1,3}?)"
_FEATURE = r"(?P<feature>eyes|hair)\b"

BEFORE_FEATURE = re.compile(rf"{_NAME}(?:{_POSSESSIVE}|\s+(?:had|has))(?:\s+(?:a|the))?{_WORDS}\s+{_FEATURE}")
AFTER_FEATURE = re.compile(rf"{_NAME}{_POSSESSIVE}\s+{_FEATURE}\s+(?:was|were|is|are|had\s+been|looked|seemed)"
                           r"(?P<words>(?:\s++[a-z]++(?:-[a-z]++)*+){1,4})")


@dataclass(frozen=True)
class _Statement:
    name: str
    feature: str
    colour: str  # the family the colour belongs to, for comparing
    written: str  # the colour as the text has it, for the message
    ordinal: int
    file: str
    line: int


def check_continuity(files: Iterable[ManuscriptFile], context_window: int | None = None) -> list[Finding]:
    """Eyes and hair whose colour changes from an earlier statement (within ``context_window``
    chapters when given)."""
    ordered = sorted((_ordinal(manuscript_file, position), position, manuscript_file)
                     for position, manuscript_file in enumerate(files, start=1))
    history: dict[tuple[str, str], list[_Statement]] = {}
    ordinals: dict[tuple[str, str], list[int]] = {}
    findings: list[Finding] = []
    for ordinal, _position, manuscript_file in ordered:
        for statement in _statements(manuscript_file, ordinal):
            key = (statement.name, statement.feature)
            earlier = history.setdefault(key, [])
            earlier_ordinals = ordinals.setdefault(key, [])
            first = 0 if context_window is None else bisect_left(earlier_ordinals, ordinal - context_window)
            if first < len(earlier) and earlier[first].colour != statement.colour:
                findings.append(_contradiction(statement, earlier[first]))
            earlier.append(statement)
            earlier_ordinals.append(ordinal)
    return findings


def _ordinal(manuscript_file: ManuscriptFile, position: int) -> int:
    return manuscript_file.chapter_index if manuscript_file.chapter_index is not None else position


def _statements(manuscript_file: ManuscriptFile, ordinal: int) -> Iterator[_Statement]:
    """The file's colour statements, in text order."""
    lines = LineIndex(manuscript_file.text)
    found: dict[int, tuple[str, str, str, str]] = {}
    for pattern in (BEFORE_FEATURE, AFTER_FEATURE):
        for match in pattern.finditer(manuscript_file.text):
            name, feature = match["name"], match["feature"]
            if name in NOT_NAMES:
                continue
            words = match["words"].split()
            if pattern is AFTER_FEATURE:
                words = _leading_description(words)
            colour = _single_colour(words, feature)
            if colour is not None:
                found.setdefault(match.start(), (name, feature, *colour))
    for start in sorted(found):
        name, feature, family, written = found[start]
        yield _Statement(name, feature, family, written, ordinal, manuscript_file.path, lines.line_of(start))


def _leading_description(words: list[str]) -> list[str]:
    """The words after "were" that still describe: "blue and cold as the sea" → blue, and, cold."""
    described = []
    for word in words:
        if not all(part in DESCRIBING_WORDS or part in COLOURS["hair"] or part in COLOURS["eyes"]
                   for part in word.split("-")):
            break
        described.append(word)
    return described


def _single_colour(words: list[str], feature: str) -> tuple[str, str] | None:
    """``(family, written)`` when the words name one colour family and nothing but description."""
    colours = COLOURS[feature]
    families: dict[str, str] = {}
    for word in words:
        for part in word.split("-"):
            if part in colours:
                families.setdefault(colours[part], part)
            elif part not in DESCRIBING_WORDS:
                return None  # "Sarah had seen blue eyes": not a description of Sarah
    if len(families) != 1:
        return None
    (family, written), = families.items()
    return family, written


def _contradiction(later: _Statement, earlier: _Statement) -> Finding:
    verb = "are" if later.feature == "eyes" else "is"
    return Finding(later.file, later.line, "error", "character_consistency",
                   f"{later.name}'s {later.feature} {verb} {later.written} here, but {earlier.written} in "
                   f"{earlier.file} (line {earlier.line}).",
                   f"Give {later.name} one {'eye' if later.feature == 'eyes' else 'hair'} colour, "
                   f"or show the change in the story.")
