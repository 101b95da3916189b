"""The three skills of story generation: plan the chapters, write each, put them together.

Every model call goes through ``ctx.generate``, so it is metered, cached and recorded by the
core; each output says whether the text came from the offline provider.
"""

from __future__ import annotations

import json
from typing import Any

from app.toolkit import Schema, Skill, StepContext, fields, validate

from .models import character_names, count_words, reading_minutes

#: A chapter call asks for the whole chapter; a model that stops well short is asked to go
#: on, a few times at most, so a chapter comes near ``l_chapter`` without runaway spending.
MAX_CONTINUATIONS = 3
SHORT_FRACTION = 0.6


class StoryRequestFields(Schema):
    """Seed 000's StoryRequest, as the workflow hands it to a skill."""

    n_chapters = fields.Integer(required=True, validate=validate.Range(min=1, max=20))
    story_instructions = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    primary_characters = fields.String(load_default="", allow_none=True, validate=validate.Length(max=500))
    secondary_characters = fields.String(load_default="", allow_none=True, validate=validate.Length(max=500))
    l_chapter = fields.Integer(load_default=300, validate=validate.Range(min=50, max=5000))
    #: The model that plans (``provider:model``); none: the step's.
    model = fields.String(load_default=None, allow_none=True)


class PlannedChapter(Schema):
    number = fields.Integer(required=True, validate=validate.Range(min=1))
    title = fields.String(required=True)
    summary = fields.String(required=True)


class Outline(Schema):
    title = fields.String(required=True)
    genre = fields.String(required=True)
    theme = fields.String(required=True)
    chapters = fields.List(fields.Nested(PlannedChapter), required=True)
    offline = fields.Boolean(required=True)


class WrittenChapter(Schema):
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    content = fields.String(required=True)
    word_count = fields.Integer(required=True)
    offline = fields.Boolean(required=True)


def characters_line(primary: str | None, secondary: str | None) -> str:
    # Plain lead-ins: a capitalised label ("Main Characters:") reads as a name to a model,
    # and the offline one would write about it.
    main = ", ".join(character_names(primary)) or "characters of your choosing"
    others = ", ".join(character_names(secondary))
    return f"It follows {main}" + (f", with {others} alongside." if others else ".")


def outline_schema(n_chapters: int) -> dict[str, Any]:
    """The JSON Schema the plan must fit: exactly ``n_chapters`` chapters, each titled."""
    text = {"type": "string", "minLength": 1, "maxLength": 200}
    return {
        "type": "object",
        "required": ["title", "genre", "theme", "chapters"],
        "additionalProperties": False,
        "properties": {
            "title": text, "genre": {"type": "string", "minLength": 1, "maxLength": 60},
            "theme": {"type": "string", "minLength": 1, "maxLength": 120},
            "chapters": {
                "type": "array", "minItems": n_chapters, "maxItems": n_chapters,
                "items": {"type": "object", "required": ["title", "summary"], "additionalProperties": False,
                          "properties": {"title": text, "summary": {"type": "string", "minLength": 1}}},
            },
        },
    }


def _one_line(text: Any, fallback: str) -> str:
    line = " ".join(str(text or "").split()).strip()
    return line[:300] or fallback


class OutlineStory(Skill):
    """Plan a story: its title, a guess at genre and theme, and what happens in each chapter."""

    name = "story.outline"
    version = "1"
    description = "Plan a story from a StoryRequest: title, genre, theme and one entry per chapter."
    input_schema = StoryRequestFields
    output_schema = Outline

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        count = inputs["n_chapters"]
        prompt = (f"Write the plan of a story in {count} chapters. {inputs['story_instructions'].strip()}\n"
                  f"{characters_line(inputs['primary_characters'], inputs['secondary_characters'])}\n"
                  "Answer in JSON: the story's title, its genre, its theme, and for each chapter in order a "
                  "title and a two-sentence summary of what happens.")
        completion = ctx.generate(prompt, system="You are a novelist who plans stories chapter by chapter.",
                                  json_schema=outline_schema(count), model=inputs["model"] or None)
        plan = json.loads(completion.text)
        chapters = [{"number": number, "title": _one_line(entry.get("title"), f"Chapter {number}"),
                     "summary": " ".join(str(entry.get("summary") or "").split())}
                    for number, entry in enumerate(plan["chapters"], start=1)]
        return {"title": _one_line(plan["title"], "Untitled story"), "genre": _one_line(plan["genre"], "fiction"),
                "theme": _one_line(plan["theme"], ""), "chapters": chapters, "offline": completion.offline}


class WriteChapter(Skill):
    """Write one chapter of a planned story, about ``l_chapter`` words long."""

    name = "story.chapter"
    version = "1"
    description = "Write one chapter from its plan entry, the characters and the writer's instructions."

    class input_schema(Schema):
        number = fields.Integer(required=True, validate=validate.Range(min=1))
        title = fields.String(required=True)
        summary = fields.String(load_default="")
        story_title = fields.String(required=True)
        plan = fields.List(fields.Nested(PlannedChapter), load_default=list)
        story_instructions = fields.String(required=True)
        primary_characters = fields.String(load_default="", allow_none=True)
        secondary_characters = fields.String(load_default="", allow_none=True)
        l_chapter = fields.Integer(load_default=300, validate=validate.Range(min=50, max=5000))
        #: The model that writes (``provider:model``); none: the step's.
        model = fields.String(load_default=None, allow_none=True)

    output_schema = WrittenChapter

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        target, number = inputs["l_chapter"], inputs["number"]
        # Words here never name a plan, a list or a title: a model (the offline one too)
        # would answer with one instead of prose.
        earlier = "\n".join(f"{entry['number']}. {entry['title']}: {entry['summary']}"
                            for entry in inputs["plan"] if entry["number"] < number)
        prompt = (f"Write chapter {number}, \"{inputs['title']}\", of the story \"{inputs['story_title']}\" "
                  f"in about {target} words of prose.\n"
                  f"What happens in it: {inputs['summary']}\n"
                  f"{characters_line(inputs['primary_characters'], inputs['secondary_characters'])}\n"
                  f"{inputs['story_instructions'].strip()}"
                  + (f"\nBefore this chapter:\n{earlier}" if earlier else ""))
        system = "You are a novelist. Answer with the chapter's prose only, no heading."
        max_tokens = int(target * 2) + 200
        model = inputs["model"] or None
        completion = ctx.generate(prompt, system=system, max_tokens=max_tokens, model=model, stream=True)
        parts, offline = [completion.text.strip()], completion.offline
        words = count_words(parts[0])
        ctx.report_progress(min(0.99, words / target), f"chapter {number}: {words} of about {target} words")
        for _ in range(MAX_CONTINUATIONS):
            if words >= target * SHORT_FRACTION:
                break
            ctx.check_cancelled()
            remaining = target - words
            # The length asked for comes first: it is the one a model (the offline one too) heeds.
            completion = ctx.generate(
                f"Continue chapter {number} from where it stops, in about {remaining} words, without repeating "
                f"it.\nThe chapter so far:\n{parts[-1]}\n\nWhat was asked:\n{prompt}",
                system=system, max_tokens=remaining * 2 + 100, model=model, stream=True)
            parts.append(completion.text.strip())
            offline = offline or completion.offline
            words = count_words("\n\n".join(parts))
            ctx.report_progress(min(0.99, words / target), f"chapter {number}: {words} of about {target} words")
        content = "\n\n".join(part for part in parts if part)
        ctx.report_progress(1.0, f"chapter {number} written")
        return {"number": number, "title": inputs["title"], "content": content, "word_count": count_words(content),
                "offline": offline}


class AssembleStory(Skill):
    """Put the written chapters in order into one story, with its word count and reading time."""

    name = "story.assemble"
    version = "1"
    description = "Join the chapters in order: title, chapters with word counts, full text, reading time."

    class input_schema(Schema):
        title = fields.String(required=True)
        genre = fields.String(load_default=None, allow_none=True)
        theme = fields.String(load_default=None, allow_none=True)
        chapters = fields.List(fields.Nested(WrittenChapter), required=True, validate=validate.Length(min=1))
        primary_characters = fields.String(load_default="", allow_none=True)
        secondary_characters = fields.String(load_default="", allow_none=True)
        offline = fields.Boolean(load_default=False)

    class output_schema(Schema):
        title = fields.String(required=True)
        genre = fields.String(allow_none=True)
        theme = fields.String(allow_none=True)
        chapters = fields.List(fields.Dict(), required=True)
        primary_characters = fields.List(fields.String(), required=True)
        secondary_characters = fields.List(fields.String(), required=True)
        word_count = fields.Integer(required=True)
        estimated_reading_time = fields.Integer(required=True)
        story_text = fields.String(required=True)
        offline = fields.Boolean(required=True)

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(inputs["chapters"], key=lambda chapter: chapter["number"])
        chapters = [{"order": position, "title": chapter["title"], "content": chapter["content"],
                     "word_count": count_words(chapter["content"])}
                    for position, chapter in enumerate(ordered, start=1)]
        words = sum(chapter["word_count"] for chapter in chapters)
        story_text = f"# {inputs['title']}\n\n" + "\n\n".join(
            f"## Chapter {chapter['order']}: {chapter['title']}\n\n{chapter['content']}" for chapter in chapters)
        return {"title": inputs["title"], "genre": inputs["genre"], "theme": inputs["theme"], "chapters": chapters,
                "primary_characters": character_names(inputs["primary_characters"]),
                "secondary_characters": character_names(inputs["secondary_characters"]),
                "word_count": words, "estimated_reading_time": reading_minutes(words), "story_text": story_text,
                "offline": inputs["offline"] or any(chapter["offline"] for chapter in ordered)}
