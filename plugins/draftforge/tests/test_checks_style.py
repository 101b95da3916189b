"""The style check: adverb density, passive voice, repetition and sentence length, on small texts."""

from __future__ import annotations

from inkwright_draftforge.checks import Finding, ManuscriptFile, StyleSettings, check_style

HEADING = "# Chapter 1: The Quay\n\n"
ADVERB_HEAVY = ("She moved quickly and quietly along the quay, glancing nervously at the boats, and\n"
                "finally stopped where the rope was coiled neatly beside the bollard.\n")
CALM = ("She walked along the quay past the boats and stopped where the rope lay beside the bollard.\n"
        "Only her family came early, and they waited at the end of the pier for the ferry.\n")


def distinct_words(count: int) -> str:
    """``count`` different words (worda, wordb, ... wordbc), none repeated, none an adverb."""
    return " ".join("word" + "".join(chr(ord("a") + int(digit)) for digit in str(n)) for n in range(count))


def style(text: str, settings: StyleSettings | dict | None = None) -> list[Finding]:
    return check_style([ManuscriptFile("chapters/01-the-quay.md", text)], settings)


def categories(findings: list[Finding]) -> list[tuple[int, str]]:
    return [(finding.line, finding.category) for finding in findings]


def test_an_adverb_heavy_paragraph_is_a_warning_at_its_first_line():
    findings = style(HEADING + CALM + "\n" + ADVERB_HEAVY)

    assert categories(findings) == [(6, "adverb_density")]
    assert findings[0].severity == "warning"
    assert "“quickly”" in findings[0].message and "“neatly”" in findings[0].message


def test_ly_words_that_are_no_adverbs_do_not_count():
    assert style(HEADING + CALM) == []


def test_the_adverb_thresholds_come_from_the_settings():
    assert style(ADVERB_HEAVY, {"adverb_share": 0.5, "enabled": True}) == []
    assert style(ADVERB_HEAVY, StyleSettings(adverb_minimum=10)) == []


def test_a_paragraph_with_two_passive_constructions_is_a_warning():
    text = ("The letter was taken from the desk. Later the key was not found by anyone, and the door\n"
            "stayed shut.\n")

    findings = style(text)

    assert categories(findings) == [(1, "passive_voice")]
    assert "“was taken”" in findings[0].message and "“was not found”" in findings[0].message


def test_one_passive_or_an_adjective_after_was_is_no_finding():
    text = "The letter was taken from the desk. She was tired, and he was excited about the boat.\n"

    assert style(text) == []


def test_a_word_three_times_within_the_window_is_a_repetition():
    text = ("The harbour lay quiet. Beyond the harbour wall the sea was grey, and the harbour lights\n"
            "came on one by one.\n")

    findings = style(text)

    assert categories(findings) == [(1, "repetition")]
    assert findings[0].severity == "info" and "“harbour”" in findings[0].message


def test_names_and_function_words_are_no_repetition():
    text = ("Sarah looked at the water. Then Tom said that Sarah should come, and Sarah said that she\n"
            "would, though there was little time and there was little light.\n")

    assert style(text) == []


def test_repetitions_far_apart_are_fine():
    filler = distinct_words(30)
    text = f"The harbour was calm. {filler}. The harbour was calm again. {filler}. The harbour slept.\n"

    assert [finding for finding in style(text) if finding.category == "repetition"] == []


def test_a_long_sentence_is_reported_at_the_line_where_it_starts():
    long_sentence = distinct_words(45) + "."
    text = f"Mr. Hale waited at the quay.\nDr. Price came too. {long_sentence}\n"

    findings = style(text)

    assert categories(findings) == [(2, "sentence_length")]
    assert "45 words" in findings[0].message


def test_headings_and_scene_breaks_are_not_prose():
    text = "# Chapter 1: Quickly, Quietly, Nervously, Finally\n\n* * *\n\nShe walked to the quay.\n"

    assert style(text) == []


def test_a_megabyte_line_of_one_letter_returns():
    assert style("a" * 1_000_000) == []
