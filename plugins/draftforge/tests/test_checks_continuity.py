"""The continuity check: eye and hair colours stated two ways, on small texts."""

from __future__ import annotations

import pytest
from inkwright_draftforge.checks import Finding, ManuscriptFile, check_continuity


def chapter(number: int, text: str) -> ManuscriptFile:
    return ManuscriptFile(f"chapters/{number:02d}.md", text, number)


def summary(findings: list[Finding]) -> list[tuple[str, int, str]]:
    return [(finding.file, finding.line, finding.category) for finding in findings]


def test_eyes_that_change_colour_are_an_error_at_the_later_statement():
    findings = check_continuity([chapter(3, "# Chapter 3\n\nThe light was hard, and\nSarah's eyes were blue.\n"),
                                 chapter(5, "# Chapter 5\n\nIn the mirror, Sarah's brown eyes looked back.\n")])

    assert summary(findings) == [("chapters/05.md", 3, "character_consistency")]
    assert findings[0].severity == "error"
    assert findings[0].message == "Sarah's eyes are brown here, but blue in chapters/03.md (line 4)."


@pytest.mark.parametrize("first, later", [
    ("Sarah's eyes were blue.", "Sarah had brown eyes."),
    ("Sarah had pale blue eyes.", "Sarah's eyes were a deep brown."),
    ("Sarah's blue eyes narrowed.", "Sarah’s dark brown eyes narrowed."),
    ("Sarah's red hair blew about.", "Sarah had long black hair."),
    ("Sarah's hair was long and red.", "Sarah's blonde hair."),
])
def test_each_way_of_stating_a_colour_is_compared(first, later):
    findings = check_continuity([chapter(1, first), chapter(2, later)])

    assert summary(findings) == [("chapters/02.md", 1, "character_consistency")]


@pytest.mark.parametrize("first, later", [
    ("Tom's grey hair.", "Tom had gray hair."),
    ("Sarah's ginger hair.", "Sarah's auburn hair."),
    ("Sarah's eyes were blue.", "Sarah's sky-blue eyes."),
    ("Sarah's eyes were blue.", "Tom's brown eyes."),
    ("Sarah's eyes were blue.", "Sarah's hair was brown."),
])
def test_the_same_colour_or_another_character_or_feature_is_fine(first, later):
    assert check_continuity([chapter(1, first), chapter(2, later)]) == []


@pytest.mark.parametrize("later", [
    "Sarah had seen brown eyes like that before.",
    "Sarah's brother had brown eyes.",
    "She had brown eyes.",
    "Sarah's blue-green eyes.",
    "Sarah's eyes were wide.",
    "Her brown eyes.",
])
def test_what_says_nothing_clear_about_the_character_is_no_statement(later):
    assert check_continuity([chapter(1, "Sarah's eyes were blue."), chapter(2, later)]) == []


def test_the_first_statement_is_the_one_compared_with():
    findings = check_continuity([chapter(1, "Sarah's blue eyes."), chapter(2, "Sarah's brown eyes."),
                                 chapter(3, "Sarah's blue eyes.")])

    assert summary(findings) == [("chapters/02.md", 1, "character_consistency")]


def test_the_context_window_limits_how_far_back_it_looks():
    files = [chapter(1, "Sarah's blue eyes."), chapter(5, "Sarah's brown eyes.")]

    assert check_continuity(files, context_window=3) == []
    assert summary(check_continuity(files, context_window=4)) == [("chapters/05.md", 1, "character_consistency")]


def test_chapters_are_read_in_chapter_order():
    findings = check_continuity([chapter(5, "Sarah's brown eyes."), chapter(3, "Sarah's blue eyes.")])

    assert summary(findings) == [("chapters/05.md", 1, "character_consistency")]


def test_a_megabyte_line_of_one_letter_returns():
    assert check_continuity([chapter(1, "a" * 1_000_000)]) == []
