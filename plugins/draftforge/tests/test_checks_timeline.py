"""The timeline check: weekdays against dates, and ages against birth years, on small texts."""

from __future__ import annotations

import pytest
from inkwright_draftforge.checks import Finding, ManuscriptFile, check_timeline

BIRTH = "# Chapter 1\n\nSarah was born in 1990 in the cottage above the slipway.\n"


def timeline(*texts: str) -> list[Finding]:
    return check_timeline([ManuscriptFile(f"chapters/0{number}.md", text, number)
                           for number, text in enumerate(texts, start=1)])


def summary(findings: list[Finding]) -> list[tuple[str, int, str]]:
    return [(finding.file, finding.line, finding.category) for finding in findings]


@pytest.mark.parametrize("written", ["Tuesday, 14 March 2023", "Tuesday 14th March 2023", "Tuesday, March 14, 2023",
                                     "Tuesday, Mar. 14, 2023", "on Tuesday the 14th of March 2023"])
def test_a_weekday_that_fits_its_date_is_no_finding(written):
    assert timeline(f"The ferry ran {written}, for the first time.\n") == []


@pytest.mark.parametrize("written", ["Tuesday, 15 March 2023", "Tuesday, March 15, 2023",
                                     "on Tuesday the 15th of March 2023"])
def test_a_weekday_that_does_not_fit_is_an_error_on_its_line(written):
    findings = timeline(f"# Chapter 1\n\nThe ferry ran\n{written}, for the first time.\n")

    assert summary(findings) == [("chapters/01.md", 4, "date_weekday")]
    assert findings[0].severity == "error"
    assert "was a Wednesday, not a Tuesday" in findings[0].message


def test_a_date_that_does_not_exist_is_reported():
    assert summary(timeline("It rained on Friday, 30 February 2024.\n")) == [("chapters/01.md", 1, "date_invalid")]


def test_ordinary_prose_about_days_is_no_finding():
    text = ("On Tuesday she went to the market. By May the boats were out, and 14 March was her birthday.\n"
            "In 2023 she was busy, and she was 40 minutes late on Monday.\n")

    assert timeline(text) == []


def test_an_age_that_does_not_fit_the_scene_year_is_an_error():
    findings = timeline(BIRTH, "# Chapter 2\n\nIn 2023 the tower was sold.\n\nSarah was 40 and tired of waiting.\n")

    assert summary(findings) == [("chapters/02.md", 5, "age_mismatch")]
    assert findings[0].confidence == 1.0
    assert findings[0].message == ("Sarah is 40 here, in 2023, but was born in 1990 (chapters/01.md, line 3), "
                                   "so would be 32 or 33.")


@pytest.mark.parametrize("written", ["Sarah was 33", "Sarah was 32 years old", "Sarah, 33, was", "Sarah, aged 33,",
                                     "the 33-year-old Sarah", "Sarah, a 33-year-old", "Sarah turned 34"])
def test_an_age_within_a_year_of_the_birth_year_is_fine(written):
    assert timeline(BIRTH + f"\nIn 2023 {written} in the harbour.\n") == []


@pytest.mark.parametrize("written", ["Sarah was 40", "Sarah, 40, was", "Sarah, aged 40,", "the 40-year-old Sarah",
                                     "Sarah, a 40-year-old", "Sarah had been 40 years old"])
def test_each_way_of_writing_an_age_is_checked(written):
    assert summary(timeline(BIRTH + f"\nIn 2023 {written} in the harbour.\n")) == [
        ("chapters/01.md", 5, "age_mismatch")]


@pytest.mark.parametrize("birth", ["Sarah was born on 3 May 1990.", "Sarah was born on May 3, 1990.",
                                   "Sarah, born in 1990, left early.", "Sarah had been born in March 1990."])
def test_each_way_of_writing_a_birth_gives_the_year(birth):
    assert summary(timeline(f"{birth}\n\nIn 2023 Sarah was 40.\n")) == [("chapters/01.md", 3, "age_mismatch")]


def test_she_is_the_one_character_named_in_the_paragraph():
    findings = timeline(BIRTH + "\nIn 2023 Sarah climbed the stair with Tom. She was 40 that spring.\n")

    assert summary(findings) == [("chapters/01.md", 5, "age_mismatch")]
    assert findings[0].confidence == 0.7


def test_she_is_nobody_when_two_characters_are_named_or_none():
    two = BIRTH + "Tom was born in 1960.\n\nIn 2023 Sarah walked with Tom. She was 40 that spring.\n"
    none = BIRTH + "\nIn 2023 Sarah walked.\n\nShe was 40 that spring.\n"

    assert timeline(two) == []
    assert timeline(none) == []


def test_a_year_after_the_age_in_its_sentence_is_the_scene_year():
    assert timeline(BIRTH + "\nIn 2023 she left. Sarah was 11 in 2001, when the pier fell.\n") == []


def test_a_birth_year_is_no_scene_year_and_no_year_means_no_check():
    assert timeline(BIRTH + "Sarah was 40 when she came home.\n") == []


def test_an_age_is_checked_against_a_birth_in_a_later_chapter():
    findings = timeline("In 2023 Sarah was 40.\n", BIRTH)

    assert summary(findings) == [("chapters/01.md", 1, "age_mismatch")]


def test_two_birth_years_for_one_character_are_reported():
    findings = timeline(BIRTH, "Sarah, born in 1988, was the eldest.\n")

    assert summary(findings) == [("chapters/02.md", 1, "age_mismatch")]
    assert "1988" in findings[0].message and "1990" in findings[0].message


def test_a_megabyte_line_of_one_letter_returns():
    assert timeline("a" * 1_000_000) == []
