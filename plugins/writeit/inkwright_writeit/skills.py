"""The four skills of the article pipeline: angles, outline, draft, polish (seed 001).

Each runs once per candidate of its step. Candidate 0 is written by the step's preferred
model (the writer's preference, else the workflow's default) and the others by the next
different models of the step's line-up, so the writer compares models side by side. Every
prompt carries the style primer's guide, the response the writer chose at the previous
step and the feedback they gave on it.
"""

from __future__ import annotations

import re
from typing import Any

from app.toolkit import Schema, Skill, StepContext, fields

from .primers import shipped_primers

MAX_SECTIONS = 8
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(.+?)\s*$")


class StepInput(Schema):
    topic = fields.String(required=True)
    audience = fields.String(load_default="general readers")
    primer = fields.String(load_default="")
    style = fields.String(load_default="", metadata={"description": "The primer's format_for_prompt() text"})
    models = fields.List(fields.String(), load_default=list,
                         metadata={"description": "Preferred model first, then the alternatives"})
    previous = fields.String(load_default="", metadata={"description": "The chosen response of the step before"})
    feedback = fields.String(load_default="", allow_none=True)
    title = fields.String(load_default="")


class StepOutput(Schema):
    text = fields.String(required=True)
    title = fields.String(load_default="")
    sections = fields.List(fields.String(), load_default=list)
    model = fields.String(required=True)
    offline = fields.Boolean(load_default=False)


def candidate_model(ctx: StepContext, models: list[str]) -> str | None:
    """The model for this candidate: the line-up without repeats, candidate 0 first."""
    lineup = list(dict.fromkeys(m for m in models if m))
    if not lineup:
        return None
    index = getattr(ctx, "candidate_index", 0)  # as the core's own skills read it
    return lineup[index % len(lineup)]


def style_guide(inputs: dict[str, Any]) -> str:
    """The guide the run was given, else the shipped primer of that id, else none."""
    if inputs.get("style"):
        return inputs["style"]
    shipped = shipped_primers().get(inputs.get("primer") or "")
    return shipped.format_for_prompt() if shipped else ""


def context_message(inputs: dict[str, Any], chosen_label: str | None) -> str:
    """The system message: who the article is for, the style, and what the writer chose."""
    parts = [f"You are helping a writer with an article about {inputs['topic']} for {inputs['audience']}."]
    guide = style_guide(inputs)
    if guide:
        parts.append(guide.strip())
    if chosen_label:
        parts.append(f"The {chosen_label} the writer chose:\n{inputs['previous'].strip()}")
        feedback = (inputs.get("feedback") or "").strip()
        parts.append(f"The writer's feedback on it: {feedback}" if feedback else "The writer gave no feedback.")
    return "\n\n".join(parts)


def list_items(text: str) -> list[str]:
    """The items of a numbered or bulleted list (else its non-empty lines), at most MAX_SECTIONS."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    items = [m.group(1) for m in map(_LIST_ITEM.match, lines) if m] or lines
    return [item.lstrip("#").strip() for item in items][:MAX_SECTIONS]


def heading_of(item: str) -> str:
    """An outline item's heading: its words before a colon, without markup."""
    head = item.split(":", 1)[0] if ":" in item[:120] else item
    return head.strip(" *_#.").strip()[:120] or "Section"


def markdown_sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` pairs of a draft written as ``## heading`` sections."""
    found: list[tuple[str, str]] = []
    for block in re.split(r"^## +", text, flags=re.MULTILINE):
        if not block.strip():
            continue
        heading, _, body = block.partition("\n")
        found.append((heading.strip(), body.strip()))
    return found


class ArticleSkill(Skill):
    """What the four steps share: inputs, output, and how a candidate's model is chosen."""

    input_schema = StepInput
    output_schema = StepOutput

    def run(self, ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
        model = candidate_model(ctx, inputs["models"])
        output = self.write(ctx, inputs, model)
        return {"model": model or "", **output}

    def write(self, ctx: StepContext, inputs: dict[str, Any], model: str | None) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def ask(ctx: StepContext, prompt: str, system: str, model: str | None, flags: dict[str, bool]) -> str:
        completion = ctx.generate(prompt, system=system, model=model, stream=True)
        flags["offline"] = flags.get("offline", False) or completion.offline
        return completion.text.strip()


class Angles(ArticleSkill):
    """Suggest angles on the topic."""

    name, version = "writeit.angles", "1"
    description = "Five angles on the article's topic, in the primer's style."

    def write(self, ctx, inputs, model):
        flags: dict[str, bool] = {}
        text = self.ask(ctx, f'Suggest 5 angles for an article about "{inputs["topic"]}" '
                             f'for {inputs["audience"]}, one line each.',
                        context_message(inputs, None), model, flags)
        return {"text": text, **flags}


class Outline(ArticleSkill):
    """Title the article and outline its sections from the chosen angle."""

    name, version = "writeit.outline", "1"
    description = "A title and an outline of sections, built on the chosen angle and the feedback."

    def write(self, ctx, inputs, model):
        flags: dict[str, bool] = {}
        system = context_message(inputs, "angle")
        title = self.ask(ctx, f'Write a short title for an article about "{inputs["topic"]}".', system, model, flags)
        ctx.check_cancelled()
        text = self.ask(ctx, f'Outline 5 sections for the article "{title}" about "{inputs["topic"]}": '
                             "a heading and one line for each.", system, model, flags)
        title = title.strip().strip('"#*').splitlines()[0] if title.strip() else inputs["topic"]
        return {"text": text, "title": title, "sections": [heading_of(item) for item in list_items(text)], **flags}


class Draft(ArticleSkill):
    """Write each section of the chosen outline."""

    name, version = "writeit.draft", "1"
    description = "A first draft, section by section, following the chosen outline and the feedback."

    def write(self, ctx, inputs, model):
        flags: dict[str, bool] = {}
        system = context_message(inputs, "outline")
        headings = [heading_of(item) for item in list_items(inputs["previous"])] or [inputs["topic"]]
        parts = []
        for number, heading in enumerate(headings, start=1):
            ctx.check_cancelled()
            body = self.ask(ctx, f'Write about 120 words on "{heading}" for the article "{inputs["title"]}" '
                                 f'about "{inputs["topic"]}".', system, model, flags)
            parts.append(f"## {heading}\n\n{body}")
            ctx.report_progress(number / len(headings), f"Drafted {heading}")
        return {"text": "\n\n".join(parts), "title": inputs["title"], "sections": headings, **flags}


class Polish(ArticleSkill):
    """Tighten the chosen draft section by section, keeping its headings."""

    name, version = "writeit.polish", "1"
    description = "The chosen draft, polished section by section in the primer's voice."

    def write(self, ctx, inputs, model):
        flags: dict[str, bool] = {}
        system = context_message(inputs, "draft")
        sections = markdown_sections(inputs["previous"]) or [(inputs["title"] or inputs["topic"], inputs["previous"])]
        parts = []
        for number, (heading, body) in enumerate(sections, start=1):
            ctx.check_cancelled()
            polished = self.ask(ctx, f'Rewrite in about 110 words the part "{heading}" of the article '
                                     f'"{inputs["title"]}", tighter and in the style guide\'s voice:\n\n{body}',
                                system, model, flags)
            parts.append(f"## {heading}\n\n{polished}")
            ctx.report_progress(number / len(sections), f"Polished {heading}")
        return {"text": "\n\n".join(parts), "title": inputs["title"], "sections": [h for h, _ in sections], **flags}
