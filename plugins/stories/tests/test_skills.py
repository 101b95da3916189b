"""The three skills on their own, with the offline model answering (no metering)."""

from __future__ import annotations

import pytest
from inkwright_stories.skills import AssembleStory, OutlineStory, WriteChapter

REQUEST = {"n_chapters": 4, "story_instructions": "A lighthouse keeper finds a message in a bottle.",
           "primary_characters": "Mara, Tobias", "secondary_characters": "", "l_chapter": 200}


def loaded(skill, inputs):
    return skill.input_schema().load(inputs)


def test_the_outline_has_one_entry_per_chapter_from_json(offline_context):
    ctx = offline_context()
    output = OutlineStory().run(ctx, loaded(OutlineStory, REQUEST))
    assert OutlineStory.output_schema().validate(output) == {}
    assert [chapter["number"] for chapter in output["chapters"]] == [1, 2, 3, 4]
    assert all(chapter["title"] and chapter["summary"] for chapter in output["chapters"])
    assert output["title"] and output["genre"] and output["offline"] is True
    call, = ctx.calls
    assert call["json_schema"]["properties"]["chapters"]["minItems"] == 4
    assert "lighthouse keeper" in call["prompt"] and "Mara, Tobias" in call["prompt"]


def test_a_chapter_is_readable_prose_near_the_asked_length(offline_context):
    ctx = offline_context()
    plan = [{"number": 1, "title": "The Bottle", "summary": "Mara finds it."},
            {"number": 2, "title": "The Message", "summary": "Tobias reads it."}]
    inputs = loaded(WriteChapter, {"number": 2, "title": "The Message", "summary": "Tobias reads it.",
                                   "story_title": "Salt Letters", "plan": plan,
                                   "story_instructions": REQUEST["story_instructions"],
                                   "primary_characters": "Mara, Tobias", "l_chapter": 250})
    output = WriteChapter().run(ctx, inputs)
    assert WriteChapter.output_schema().validate(output) == {}
    assert 150 <= output["word_count"] <= 320, output["word_count"]
    assert output["content"].count(".") >= 5 and "\n\n" in output["content"]  # sentences in paragraphs
    assert not output["content"].lstrip().startswith("1.")  # prose, not a numbered list
    prompt = ctx.calls[0]["prompt"]
    assert "about 250 words" in prompt and "1. The Bottle: Mara finds it." in prompt
    assert ctx.progress[-1] == (1.0, "chapter 2 written")


def test_a_model_that_stops_short_is_asked_to_go_on_a_few_times_at_most(offline_context):
    ctx = offline_context(answer=lambda prompt: "Too short. " * 5)
    output = WriteChapter().run(ctx, loaded(WriteChapter, {
        "number": 1, "title": "Start", "story_title": "S", "story_instructions": "x", "l_chapter": 400}))
    assert len(ctx.calls) == 4  # the chapter, then three continuations
    assert ctx.calls[1]["prompt"].startswith("Continue chapter 1 from where it stops, in about 390 words")
    assert output["word_count"] == 40
    fractions = [fraction for fraction, _ in ctx.progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_assemble_orders_chapters_and_counts_words(offline_context):
    chapters = [{"number": 2, "title": "Two", "content": "d e f g", "word_count": 4, "offline": True},
                {"number": 1, "title": "One", "content": "a b c", "word_count": 3, "offline": False}]
    output = AssembleStory().run(offline_context(), loaded(AssembleStory, {
        "title": "Tides", "genre": "mystery", "theme": "memory", "chapters": chapters,
        "primary_characters": "Mara and Tobias", "secondary_characters": ""}))
    assert [(c["order"], c["title"], c["word_count"]) for c in output["chapters"]] == [(1, "One", 3), (2, "Two", 4)]
    assert output["word_count"] == 7 and output["estimated_reading_time"] == 1
    assert output["story_text"].startswith("# Tides\n\n## Chapter 1: One\n\na b c\n\n## Chapter 2: Two")
    assert output["primary_characters"] == ["Mara", "Tobias"] and output["offline"] is True


@pytest.mark.parametrize("bad", [{"n_chapters": 0}, {"n_chapters": 21}, {"story_instructions": ""},
                                 {"l_chapter": 10}])
def test_the_outline_refuses_requests_out_of_bounds(bad):
    assert OutlineStory.input_schema().validate({**REQUEST, **bad})
