"""The facts check: one thing measured two ways, between chapters and against facts.md."""

from __future__ import annotations

import pytest
from inkwright_draftforge.checks import Finding, ManuscriptFile, check_facts


def chapters(*texts: str) -> list[ManuscriptFile]:
    return [ManuscriptFile(f"chapters/0{number}.md", text, number) for number, text in enumerate(texts, start=1)]


def summary(findings: list[Finding]) -> list[tuple[str, int, str]]:
    return [(finding.file, finding.line, finding.category) for finding in findings]


def test_a_height_stated_two_ways_is_an_error_at_the_later_one():
    findings = check_facts(chapters("# Chapter 1\n\nThe tower was 40 metres tall.\n",
                                    "# Chapter 2\n\nAt dusk\nthe tower stood 60 meters high above the bay.\n"))

    assert summary(findings) == [("chapters/02.md", 4, "fact_consistency")]
    assert findings[0].severity == "error" and findings[0].confidence == 0.8
    assert findings[0].message == "The tower is 60 m tall here, but it is 40 m in chapters/01.md (line 3)."


@pytest.mark.parametrize("later", [
    "A 60 m tower rose from the rock.",
    "They climbed the 60-metre-high tower.",
    "It was a 60-metre stone tower.",
    "The tower, some 90 metres tall, leaned.",
    "The height of the tower was 60 m.",
    "The tower's height is 60 metres.",
    "The old stone tower rose 60 metres into the fog.",
    "The tower was 200 feet in height.",
])
def test_each_way_of_stating_a_height_is_compared(later):
    assert summary(check_facts(chapters("The tower was 40 metres tall.", later))) == [
        ("chapters/02.md", 1, "fact_consistency")]


@pytest.mark.parametrize("later", [
    "The tower was 131 feet tall.",
    "The tower was about 42 m tall.",
    "The tower was over 60 m tall.",
    "The tower stood 60 metres from the gate.",
    "The tower was 60 metres wide.",
    "The wall was 60 metres tall.",
    "The tower was 0.04 km tall.",
])
def test_the_same_length_in_other_units_or_another_dimension_or_thing_is_fine(later):
    assert check_facts(chapters("The tower was 40 metres tall.", later)) == []


def test_lengths_without_a_dimension_of_things_never_measured_are_left_out():
    assert check_facts(chapters("She went for a 3 km walk.", "The next day, a 10 km walk.")) == []


def test_a_chapter_contradicting_facts_md_cites_it():
    facts = "# Facts\n\n- The tower is 40 m tall.\n"

    findings = check_facts(chapters("The tower was 60 metres tall.", "The tower was 40 metres tall."), facts)

    assert summary(findings) == [("chapters/01.md", 1, "fact_consistency")]
    assert findings[0].message == "The tower is 60 m tall here, but the facts say 40 m in manuscript/facts.md (line 3)."
    assert findings[0].confidence == 1.0


@pytest.mark.parametrize("fact", ["tower: 40 m", "- Tower height: 40 m", "* the tower: 40 metres tall"])
def test_facts_may_be_written_as_name_and_measure(fact):
    findings = check_facts(chapters("The tower was 60 metres tall."), f"# Facts\n{fact}\n")

    assert summary(findings) == [("chapters/01.md", 1, "fact_consistency")]
    assert "manuscript/facts.md (line 2)" in findings[0].message


def test_chapters_agreeing_with_the_facts_are_fine():
    assert check_facts(chapters("The tower was 40 metres tall.", "A 40 m tower."), "- The tower is 40 m tall.\n") == []


def test_a_megabyte_line_of_one_letter_returns():
    assert check_facts(chapters("a" * 1_000_000), "a" * 1_000_000) == []
