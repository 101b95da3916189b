"""The fixture manuscript (tests/fixtures/manuscript): the checks find its planted problems and nothing else.

Planted, and nothing more: Sarah's eyes blue in chapter 3 and brown in chapter 5; the market's
Tuesday, 22 March 2023 (a Wednesday) in chapter 4; Sarah, born in 1990, 40 in a 2023 scene in
chapter 6; an adverb-heavy, passive paragraph in chapter 6; the tower 40 m tall in chapter 2 and
60 m high in chapter 7 (facts.md agrees with chapter 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from inkwright_draftforge.checks import (
    Finding,
    ManuscriptFile,
    check_continuity,
    check_facts,
    check_style,
    check_timeline,
)

ROOT = Path(__file__).parent / "fixtures" / "manuscript"
CHAPTER_FILE = re.compile(r"^(\d+)-")

CHAPTER_3 = "chapters/03-the-lantern-room.md"
CHAPTER_4 = "chapters/04-market-day.md"
CHAPTER_5 = "chapters/05-fog.md"
CHAPTER_6 = "chapters/06-the-keepers-log.md"
CHAPTER_7 = "chapters/07-measurements.md"
PLANTED_IN = {CHAPTER_4, CHAPTER_5, CHAPTER_6, CHAPTER_7}


def read_manuscript() -> list[ManuscriptFile]:
    files = []
    for path in sorted((ROOT / "chapters").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        index = int(CHAPTER_FILE.match(path.name).group(1))
        files.append(ManuscriptFile(path.relative_to(ROOT).as_posix(), text, index, text.splitlines()[0].lstrip("# ")))
    return files


def line_of_phrase(path: str, phrase: str) -> int:
    """The line where ``phrase`` starts in the fixture file, however the prose is wrapped."""
    text = (ROOT / path).read_text(encoding="utf-8")
    match = re.search(r"\s+".join(map(re.escape, phrase.split())), text)
    assert match, f"{phrase!r} is not in {path}"
    return text.count("\n", 0, match.start()) + 1


@pytest.fixture(scope="module")
def manuscript() -> list[ManuscriptFile]:
    return read_manuscript()


def where(findings: list[Finding]) -> set[tuple[str, int, str, str]]:
    return {(finding.file, finding.line, finding.severity, finding.category) for finding in findings}


def test_the_fixture_has_at_least_six_chapters_of_prose(manuscript):
    assert len(manuscript) >= 6
    assert all(re.match(r"# Chapter \d+: \S", file.text) for file in manuscript)


def test_style_finds_the_adverb_heavy_passive_paragraph_only(manuscript):
    paragraph = line_of_phrase(CHAPTER_6, "The box had been carefully sealed")

    assert where(check_style(manuscript)) == {(CHAPTER_6, paragraph, "warning", "adverb_density"),
                                              (CHAPTER_6, paragraph, "warning", "passive_voice")}


def test_timeline_finds_the_wrong_tuesday_and_the_age_that_does_not_add_up(manuscript):
    findings = check_timeline(manuscript)

    assert where(findings) == {
        (CHAPTER_4, line_of_phrase(CHAPTER_4, "Tuesday, 22 March 2023"), "error", "date_weekday"),
        (CHAPTER_6, line_of_phrase(CHAPTER_6, "She was 40 that spring"), "error", "age_mismatch"),
    }
    age = next(finding for finding in findings if finding.category == "age_mismatch")
    assert "chapters/01-the-harbour.md" in age.message and "1990" in age.message and "2023" in age.message


def test_continuity_finds_the_eyes_that_turn_brown(manuscript):
    findings = check_continuity(manuscript)

    assert where(findings) == {(CHAPTER_5, line_of_phrase(CHAPTER_5, "Sarah’s brown eyes"), "error",
                                "character_consistency")}
    blue = line_of_phrase(CHAPTER_3, "Sarah’s eyes were blue")
    assert findings[0].message == f"Sarah's eyes are brown here, but blue in {CHAPTER_3} (line {blue})."


def test_continuity_within_a_short_window_lets_chapter_3_go(manuscript):
    assert check_continuity(manuscript, context_window=1) == []


@pytest.mark.parametrize("with_facts", [False, True])
def test_facts_finds_the_tower_that_grows(manuscript, with_facts):
    facts_text = (ROOT / "manuscript" / "facts.md").read_text(encoding="utf-8") if with_facts else None

    findings = check_facts(manuscript, facts_text)

    assert where(findings) == {(CHAPTER_7, line_of_phrase(CHAPTER_7, "The tower stood 60 meters high"), "error",
                                "fact_consistency")}
    cited = "manuscript/facts.md" if with_facts else "chapters/02-the-tower.md"
    assert cited in findings[0].message


def test_the_clean_chapters_give_no_error(manuscript):
    facts_text = (ROOT / "manuscript" / "facts.md").read_text(encoding="utf-8")
    every = (check_style(manuscript) + check_timeline(manuscript) + check_continuity(manuscript)
             + check_facts(manuscript, facts_text))

    assert {finding.file for finding in every if finding.severity == "error"} <= PLANTED_IN
    assert len([finding for finding in every if finding.severity == "error"]) == 4
