"""DraftForge's four review agents: ``continuity``, ``style``, ``timeline`` and ``fact``.

Each agent reads a project's manuscript twice:

1. its deterministic check (``checks/``) over the whole book, since a contradiction spans
   chapters: those findings are exact, and cost nothing;
2. one model call per chapter, with the chapter's lines numbered so the model can point at
   them, asking for findings in a JSON schema. The continuity agent also gives the model what
   the earlier chapters (within its ``context_window``) say about each character.

So a run makes at most one call per chapter (seed 003's bound: chapters + 1). A model's answer
that is not the JSON asked for gives no findings for that chapter; it never fails the run. A
model finding about the same line and category as a check's is left out: the check's is the
one a writer can trust. Lines the model invents past a chapter's end are the core's to drop
(``app/agent_runs/results.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Mapping

from app.toolkit import Agent, ModelOutputInvalidError, ReviewIssue, ReviewReport, StepContext

from .checks import (
    FACTS_PATH,
    SEVERITIES,
    Finding,
    ManuscriptFile,
    StyleSettings,
    check_continuity,
    check_facts,
    check_style,
    check_timeline,
)
from .checks.continuity import _statements as colour_statements
from .checks.timeline import BIRTH

log = logging.getLogger(__name__)

#: Findings one answer may hold: enough for a dense chapter, few enough to stay readable.
MAX_FINDINGS = 8
#: Room for MAX_FINDINGS findings of a sentence or two each.
MAX_TOKENS = 1200
#: A chapter longer than this many characters is shown to the model only up to here, so one
#: call fits a model's context; the deterministic checks still read all of it.
MAX_CHAPTER_CHARS = 60_000
#: How much of ``facts.md`` the fact agent's prompt quotes.
MAX_FACTS_CHARS = 8_000
#: How many character facts the continuity agent's summary of earlier chapters may list.
MAX_CHARACTER_FACTS = 60
#: A model's own confidence is not calibrated: its findings never claim a check's certainty.
MODEL_CONFIDENCE_CEILING = 0.9
#: The confidence of a model finding that states none.
MODEL_CONFIDENCE_DEFAULT = 0.5

SYSTEM = ("You are a careful manuscript editor. You answer only with JSON in the schema asked for, and report "
          "only problems you can point to by the line numbers given.")


def findings_schema(categories: Iterable[str]) -> dict[str, Any]:
    """The JSON schema of a model's answer: findings with a line, severity and category of the agent's."""
    finding = {
        "type": "object",
        "properties": {
            "line": {"type": "integer", "minimum": 1},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "category": {"type": "string", "enum": list(categories)},
            "message": {"type": "string", "maxLength": 500},
            "suggestion": {"type": "string", "maxLength": 500},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["line", "severity", "category", "message", "suggestion", "confidence"],
        "additionalProperties": False,
    }
    return {"type": "object", "properties": {"findings": {"type": "array", "maxItems": MAX_FINDINGS,
                                                          "items": finding}},
            "required": ["findings"], "additionalProperties": False}


@dataclass(frozen=True)
class Chapter:
    """A chapter as the agents read it: the check's view of it, and where it sits in the book."""

    file: ManuscriptFile
    ordinal: int  # its chapter index, or its place in the content when it has none
    line_count: int

    @property
    def path(self) -> str:
        return self.file.path


def chapters_of(content: Mapping[str, Any]) -> list[Chapter]:
    """The content's files in reading order (by chapter index, as the continuity check orders them)."""
    chapters = []
    for position, entry in enumerate(content.get("files") or [], start=1):
        text = str(entry.get("text") or "")
        index = entry.get("chapter_index")
        index = index if isinstance(index, int) and not isinstance(index, bool) else None
        manuscript_file = ManuscriptFile(str(entry["path"]), text, index, entry.get("title"))
        chapters.append(Chapter(manuscript_file, index if index is not None else position,
                                len(text.splitlines()) or 1))
    return sorted(chapters, key=lambda chapter: chapter.ordinal)


def issue_of(finding: Finding) -> ReviewIssue:
    return ReviewIssue(finding.severity, finding.category, finding.message, suggestion=finding.suggestion,
                       confidence=finding.confidence, file=finding.file, line=finding.line)


def numbered(text: str) -> str:
    """The text with each line numbered as findings name it, cut at ``MAX_CHAPTER_CHARS``."""
    shown, size = [], 0
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        size += len(line) + 1
        if size > MAX_CHAPTER_CHARS:
            shown.append(f"(lines {number} to {len(lines)} are not shown)")
            break
        shown.append(f"{number}: {line}")
    return "\n".join(shown)


def model_findings(answer: str, categories: tuple[str, ...]) -> list[dict[str, Any]]:
    """The well-formed findings of a model's answer; anything else in it is ignored."""
    try:
        findings = json.loads(answer).get("findings")
    except (ValueError, TypeError, AttributeError):
        return []
    if not isinstance(findings, list):
        return []
    return [finding for finding in findings if _well_formed(finding, categories)]


def _well_formed(finding: Any, categories: tuple[str, ...]) -> bool:
    return (isinstance(finding, dict)
            and isinstance(finding.get("line"), int) and not isinstance(finding["line"], bool)
            and finding.get("severity") in SEVERITIES
            and finding.get("category") in categories
            and isinstance(finding.get("message"), str) and finding["message"].strip() != "")


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:  # NaN
        return MODEL_CONFIDENCE_DEFAULT
    return max(0.0, min(float(value), MODEL_CONFIDENCE_CEILING))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class ManuscriptAgent(Agent):
    """What the four agents share; each says what it checks and what it asks the model to look for.

    Not an entry point itself: it has no name.
    """

    #: What the model is asked to look for, completing "Look for ...".
    focus: ClassVar[str] = ""

    def deterministic(self, chapters: list[ManuscriptFile], settings: Mapping[str, Any]) -> list[Finding]:
        """The agent's check over the whole book."""
        raise NotImplementedError

    def background(self, chapters: list[Chapter], position: int, settings: Mapping[str, Any]) -> str:
        """What the model should know besides the chapter itself (nothing, unless an agent says)."""
        return ""

    def review(self, ctx: StepContext, content: dict[str, Any]) -> ReviewReport:
        settings = dict(content.get("settings") or {})
        chapters = chapters_of(content)
        checked = [issue_of(finding) for finding in self.deterministic([c.file for c in chapters], settings)]
        taken = {(issue.file, issue.line, issue.category) for issue in checked}
        suggested: list[ReviewIssue] = []
        for position, chapter in enumerate(chapters):
            ctx.check_cancelled()
            for issue in self.read_chapter(ctx, content, chapters, position, settings):
                # The check's finding is exact; the model's about the same line and category adds nothing.
                if (issue.file, issue.line, issue.category) not in taken:
                    taken.add((issue.file, issue.line, issue.category))
                    suggested.append(issue)
        return ReviewReport(checked + suggested, self.summary(chapters, checked, suggested))

    def read_chapter(self, ctx: StepContext, content: dict[str, Any], chapters: list[Chapter], position: int,
                     settings: Mapping[str, Any]) -> list[ReviewIssue]:
        """One model call over one chapter, and its findings placed in that chapter."""
        chapter = chapters[position]
        if not chapter.file.text.strip():
            return []  # nothing to read: no call to pay for
        prompt = self.prompt(content, chapter, self.background(chapters, position, settings))
        try:
            answer = ctx.generate(prompt, model=settings.get("model"), system=SYSTEM,
                                  json_schema=findings_schema(self.categories), max_tokens=MAX_TOKENS)
        except ModelOutputInvalidError as invalid:
            # The call is logged and paid for; its answer just holds nothing we can use.
            log.info("%s agent: the model's answer on %s was not the JSON asked for: %s",
                     self.name, chapter.path, invalid.message)
            return []
        return [ReviewIssue(finding["severity"], finding["category"], finding["message"].strip()[:500],
                            suggestion=(str(finding.get("suggestion") or "").strip()[:500] or None),
                            confidence=_confidence(finding.get("confidence")), file=chapter.path,
                            line=finding["line"])
                for finding in model_findings(answer.text, self.categories)]

    def prompt(self, content: Mapping[str, Any], chapter: Chapter, background: str) -> str:
        subject = content.get("subject") or {}
        work = f"the {subject.get('type') or 'manuscript'} “{subject.get('name') or 'Untitled'}”"
        title = chapter.file.title or chapter.path
        parts = [f"Review chapter {chapter.ordinal} (“{title}”) of {work}. Look for {self.focus}."]
        if background:
            parts.append(background)
        parts.append(
            "Report each problem as a finding: the line number it is on (as numbered below), its severity "
            "(error for a contradiction the book cannot keep, warning for something worth a look, info for a "
            f"note), its category (one of: {', '.join(self.categories)}), a message saying what is wrong, a "
            f"suggestion for the writer, and your confidence from 0 to 1. At most {MAX_FINDINGS} findings; "
            "answer {\"findings\": []} when there is nothing to report.")
        parts.append(f"File {chapter.path}:\n{numbered(chapter.file.text)}")
        return "\n\n".join(parts)

    def summary(self, chapters: list[Chapter], checked: list[ReviewIssue], suggested: list[ReviewIssue]) -> str:
        """One sentence; model findings past a chapter's end are not counted, as the core drops them."""
        lines = {chapter.path: chapter.line_count for chapter in chapters}
        placed = sum(1 for issue in suggested if issue.line is not None and 1 <= issue.line <= lines[issue.file])
        read = f"The {self.name} agent read {_plural(len(chapters), 'chapter')}"
        if not checked and not placed:
            return f"{read} and found nothing to flag."
        return f"{read}: its checks found {_plural(len(checked), 'issue')} and the model {placed} more."


class Continuity(ManuscriptAgent):
    name = "continuity"
    version = "1"
    description = ("Characters, places and world rules that change between chapters: eye and hair colours "
                   "checked exactly within the context window, the rest read by the model chapter by chapter.")
    categories = ("character_consistency", "world_rules", "plot_consistency")
    id_prefix = "cont"
    focus = ("continuity errors: a character described differently from earlier chapters, an object or place "
             "that changes, a rule of the story's world broken, an event contradicting what came before")

    def deterministic(self, chapters: list[ManuscriptFile], settings: Mapping[str, Any]) -> list[Finding]:
        return check_continuity(chapters, context_window(settings))

    def background(self, chapters: list[Chapter], position: int, settings: Mapping[str, Any]) -> str:
        window = context_window(settings)
        current = chapters[position].ordinal
        earlier = [chapter for chapter in chapters[:position]
                   if window is None or chapter.ordinal >= current - window]
        facts = character_facts(earlier)
        if not facts:
            return ""
        return "What earlier chapters established about the characters:\n" + "\n".join(f"- {fact}" for fact in facts)


def context_window(settings: Mapping[str, Any]) -> int | None:
    """The settings' ``context_window`` as a number of chapters; ``None`` (the whole book) when unset or unusable."""
    value = settings.get("context_window")
    try:
        window = int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
    return window if window is not None and window > 0 else None


def character_facts(chapters: list[Chapter]) -> list[str]:
    """A line per character and feature, as first stated (first descriptions are the ones readers remember).

    Read with the continuity check's own statement reader and the timeline check's birth pattern,
    so what the model is told about earlier chapters is what the checks found there.
    """
    facts: dict[tuple[str, str], str] = {}
    for chapter in chapters:
        for statement in colour_statements(chapter.file, chapter.ordinal):
            facts.setdefault((statement.name, statement.feature),
                             f"{statement.name}: {statement.feature} {statement.written} "
                             f"({chapter.path}, line {statement.line})")
        for birth in BIRTH.finditer(chapter.file.text):
            facts.setdefault((birth["subject"], "born"),
                             f"{birth['subject']}: born in {birth['year']} ({chapter.path})")
        if len(facts) >= MAX_CHARACTER_FACTS:
            break
    return list(facts.values())[:MAX_CHARACTER_FACTS]


class Style(ManuscriptAgent):
    name = "style"
    version = "1"
    description = ("Adverb-heavy and passive paragraphs, repeated words and long sentences by the project's "
                   "thresholds, and the model's notes on word choice and clarity.")
    categories = ("adverb_density", "passive_voice", "repetition", "sentence_length", "word_choice", "clarity")
    id_prefix = "styl"
    focus = ("style problems: clumsy or vague word choice, unclear sentences, adverbs doing a verb's work, "
             "needless passive voice, words repeated close together, sentences too long to follow")

    def deterministic(self, chapters: list[ManuscriptFile], settings: Mapping[str, Any]) -> list[Finding]:
        return check_style(chapters, style_settings(settings))


def style_settings(settings: Mapping[str, Any]) -> StyleSettings:
    """The project's style thresholds; a value that is no number leaves the defaults, rather than failing the run."""
    try:
        return StyleSettings.from_mapping(settings)
    except (TypeError, ValueError):
        log.warning("style agent: the project's style thresholds are not numbers; using the defaults")
        return StyleSettings()


class Timeline(ManuscriptAgent):
    name = "timeline"
    version = "1"
    description = ("Weekdays that do not fit their dates and ages that do not fit birth years, checked exactly, "
                   "and the model's reading of each chapter's order of events.")
    categories = ("date_weekday", "date_invalid", "age_mismatch", "sequence", "duration")
    id_prefix = "time"
    focus = ("timeline problems: a weekday that does not fit its date, an age that does not fit a birth year, "
             "events out of order, durations or seasons that do not add up")

    def deterministic(self, chapters: list[ManuscriptFile], settings: Mapping[str, Any]) -> list[Finding]:
        return check_timeline(chapters)


class Fact(ManuscriptAgent):
    name = "fact"
    version = "1"
    description = ("One thing measured two ways, between chapters or against manuscript/facts.md, checked "
                   "exactly, and the model's reading of each chapter against the facts file.")
    categories = ("fact_consistency", "real_world_fact")
    id_prefix = "fact"
    focus = ("factual problems: a size, number, name or date that contradicts the reference facts or another "
             "chapter, and real-world claims that are wrong")

    def deterministic(self, chapters: list[ManuscriptFile], settings: Mapping[str, Any]) -> list[Finding]:
        facts = reference_facts(settings)
        if facts is None:
            return check_facts(chapters)
        return check_facts(chapters, facts["text"], facts["path"])

    def background(self, chapters: list[Chapter], position: int, settings: Mapping[str, Any]) -> str:
        facts = reference_facts(settings)
        if facts is None:
            return ""
        return f"The project's reference facts ({facts['path']}):\n{facts['text'][:MAX_FACTS_CHARS]}"


def reference_facts(settings: Mapping[str, Any]) -> dict[str, str] | None:
    """``{"path", "text"}`` of the project's facts file, when the content carries one."""
    facts = settings.get("facts")
    if not isinstance(facts, Mapping) or not isinstance(facts.get("text"), str):
        return None
    return {"path": str(facts.get("path") or FACTS_PATH), "text": facts["text"]}
