"""Style: adverb density, passive voice, repeated words and long sentences.

The unit is the paragraph (a run of non-blank lines; Markdown headings and scene breaks such
as ``* * *`` are not prose and end a paragraph). Findings sit on the line where the paragraph
starts, except a long sentence, which sits on the line where the sentence starts.

* **Adverb density**: words ending in *-ly* that are not on a stop list of -ly words that are no
  adverbs (*only*, *family*, *early*, *reply*, names such as *Emily*...). A paragraph is reported
  when its adverbs are more than ``adverb_share`` of its words *and* at least ``adverb_minimum``:
  the share alone would flag every short paragraph with one adverb.
* **Passive voice**: a form of *to be*, then up to two words such as *not* or an adverb, then a
  past participle (a word in *-ed* that is not an adjective like *tired*, or a common irregular
  participle). It is reported per paragraph, when the paragraph holds ``passive_per_paragraph``
  or more (default 2): one passive sentence is often the right choice (the actor is unknown or
  beside the point); a paragraph of them is the habit worth pointing at.
* **Repetition**: the same word, ``repetition_count`` times within ``repetition_window`` words of
  one paragraph. Function words, words of three letters or fewer, *said*, and names (words the
  file capitalises in mid-sentence) do not count: a character's name recurs by design.
* **Sentence length**: more than ``max_sentence_words`` words between sentence ends (a period,
  ``!`` or ``?``, not the one after *Mr* or an initial).

Everything is one pass over the words, so a check costs time in proportion to the text.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Iterable, Iterator, Mapping

from .findings import Finding, LineIndex, ManuscriptFile

# A word: letters, with inner apostrophes (don't, Sarah's). Possessive quantifiers: a match never
# gives characters back, so a megabyte of letters is one match, not a backtracking search.
WORD = re.compile(r"[^\W\d_]++(?:['’][^\W\d_]++)*+")
# A sentence ends at a run of . ! ? (with closing quotes or brackets) before a space or the end.
# The look-behind makes the run match only from its first character, so a long run of dots is
# scanned once instead of once per dot.
SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s|$)")
LAST_WORD = re.compile(r"[A-Za-z]++$")
FIRST_VISIBLE = re.compile(r"\S")

ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "prof", "rev", "capt", "col", "gen", "lt", "sgt",
                           "mt", "jr", "sr", "vs", "etc", "no", "fr", "sen", "gov", "supt", "insp"})
OPENING_MARKS = frozenset("\"“‘'([—–")

ADVERB_STOP_LIST = frozenset("""
    only family early reply apply supply comply imply rely multiply ally rally tally sally belly bully
    jelly holly folly lily lolly dolly gully jolly silly hilly chilly curly surly burly holy ugly oily
    wily fly butterfly dragonfly firefly ply sly july italy assembly anomaly monopoly melancholy homily
    friendly unfriendly lovely lonely lively likely unlikely deadly costly elderly orderly cowardly
    daily weekly monthly yearly nightly hourly motherly fatherly brotherly sisterly scholarly worldly
    heavenly ghostly ghastly beastly stately comely homely portly courtly leisurely manly womanly
    emily kelly molly polly shelly billy beverly kimberly carly filly doily
""".split())

BE_FORMS = frozenset({"am", "is", "are", "was", "were", "be", "been", "being"})
# Words that may stand between "was" and the participle: "was not taken", "was quickly hidden",
# "was being watched".
PASSIVE_FILLERS = frozenset({"not", "never", "also", "just", "still", "already", "then", "often", "always",
                             "soon", "once", "being", "been"})
IRREGULAR_PARTICIPLES = frozenset("""
    arisen awoken beaten begun bent bitten blown bought bound broken brought built burnt caught chosen
    dealt done drawn driven dug eaten fed felt fought found forbidden forgotten forgiven frozen given
    ground grown heard held hidden hit hung hurt kept known laid led left lent lit lost made meant met
    mistaken overcome overheard overtaken overthrown paid put rebuilt rewritten ridden rung said seen
    sent set sewn shaken shorn shot shown shrunk shut slain sold sought sown spent spilt split spoken
    spread sprung stolen struck stuck stung sung sunk sworn swept swollen swung taken taught thought
    thrown told torn trodden understood undone upheld upset withdrawn woken won worn woven wound
    written wrung
""".split())
# -ed words after "was" that describe rather than tell what was done to someone.
ED_NOT_PASSIVE = frozenset("""
    tired bored excited interested worried scared pleased ashamed supposed used naked wicked sacred
    rugged ragged crooked beloved learned aged hundred kindred shed bed wed bred sled fled
""".split())
EED_PARTICIPLES = frozenset({"agreed", "freed", "decreed", "guaranteed"})

REPETITION_STOP_LIST = frozenset("""
    about above across after again against almost along also although always among another anything
    anyone around away back because been before behind being below beneath beside besides between
    both came come comes coming could does doing done down during each either else enough even ever
    every everything from goes going gone have having here herself himself into itself just knew
    know like little looked looking look made make many maybe more most much must myself near never
    next nothing once only onto other others over perhaps quite rather really said says same seemed
    seem should since some something still such than that their theirs them themselves then there
    these they thing things this those though thought through thus till told took toward towards
    under until upon very want wanted went were what whatever when where whether which while whom
    whose will with within without would your yours yourself
""".split())


@dataclass(frozen=True)
class StyleSettings:
    """The thresholds of the style check; a project's settings may override any of them."""

    adverb_share: float = 0.05
    adverb_minimum: int = 3
    passive_per_paragraph: int = 2
    repetition_count: int = 3
    repetition_window: int = 50
    max_sentence_words: int = 40

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> StyleSettings:
        """Settings from a project's ``agents.style`` mapping; keys that are not thresholds
        (``enabled``, ``model``, ``trigger``) belong to the agent and are ignored here."""
        defaults = cls()
        # Each value is converted to its default's type: JSON may give 3.0 for an int, "0.05" from a form.
        chosen = {setting.name: type(getattr(defaults, setting.name))(values[setting.name])
                  for setting in fields(cls) if setting.name in values}
        return replace(defaults, **chosen)


@dataclass
class _Sentence:
    start: int  # offset in the file of its first visible character
    first_word: int  # index of its first word in the paragraph's words
    word_count: int


@dataclass
class _Paragraph:
    start: int  # offset in the file
    words: list[str] = field(default_factory=list)
    sentences: list[_Sentence] = field(default_factory=list)


def check_style(files: Iterable[ManuscriptFile],
                settings: StyleSettings | Mapping[str, object] | None = None) -> list[Finding]:
    """Adverb-heavy and passive paragraphs, repeated words and long sentences, in reading order."""
    if settings is None:
        settings = StyleSettings()
    elif not isinstance(settings, StyleSettings):
        settings = StyleSettings.from_mapping(settings)
    findings: list[Finding] = []
    for manuscript_file in files:
        findings.extend(_check_file(manuscript_file, settings))
    return findings


def _check_file(manuscript_file: ManuscriptFile, settings: StyleSettings) -> Iterator[Finding]:
    text = manuscript_file.text
    lines = LineIndex(text)
    # The whole file is read before anything is counted, so a name first capitalised in
    # mid-sentence late in the chapter is a name in its first paragraph too.
    names: set[str] = set()
    paragraphs = [_read_paragraph(text, start, end, names) for start, end in _paragraph_spans(text)]
    for paragraph in paragraphs:
        line = lines.line_of(paragraph.start)
        for finding in (_adverb_density(paragraph, settings), _passive_voice(paragraph, settings),
                        _repetition(paragraph, names, settings)):
            if finding is not None:
                yield Finding(manuscript_file.path, line, *finding)
        for sentence in paragraph.sentences:
            if sentence.word_count > settings.max_sentence_words:
                yield Finding(manuscript_file.path, lines.line_of(sentence.start), "info", "sentence_length",
                              f"A sentence of {sentence.word_count} words (more than "
                              f"{settings.max_sentence_words}).",
                              "Split it where the thought turns.")


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each prose paragraph: headings and lines without a letter separate them."""
    start: int | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        visible = line.strip()
        is_prose = bool(visible) and not visible.startswith("#") and any(c.isalpha() for c in visible)
        if is_prose and start is None:
            start = offset
        elif not is_prose and start is not None:
            yield start, offset
            start = None
        offset += len(line)
    if start is not None:
        yield start, len(text)


def _read_paragraph(text: str, start: int, end: int, names: set[str]) -> _Paragraph:
    """The paragraph's words and sentences; adds to ``names`` the words it capitalises mid-sentence."""
    paragraph = _Paragraph(start)
    for sentence_start, sentence_end in _sentence_spans(text, start, end):
        visible = FIRST_VISIBLE.search(text, sentence_start, sentence_end)
        sentence = _Sentence(visible.start() if visible else sentence_start, len(paragraph.words), 0)
        for match in WORD.finditer(text, sentence_start, sentence_end):
            word = match.group()
            at_start = sentence.word_count == 0 or text[match.start() - 1] in OPENING_MARKS
            if word[0].isupper() and not at_start:
                names.add(_bare(word))
            paragraph.words.append(word)
            sentence.word_count += 1
        if sentence.word_count:
            paragraph.sentences.append(sentence)
    return paragraph


def _sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    sentence_start = start
    for stop in SENTENCE_END.finditer(text, start, end):
        if stop.group() == "." and _is_abbreviation(text, stop.start()):
            continue
        yield sentence_start, stop.end()
        sentence_start = stop.end()
    if sentence_start < end:
        yield sentence_start, end


def _is_abbreviation(text: str, period: int) -> bool:
    """Whether the period at ``period`` follows a title (Mr, Dr) or an initial (J.) and ends nothing."""
    word = LAST_WORD.search(text, max(0, period - 8), period)
    if word is None:
        return False
    letters = word.group()
    return letters.lower() in ABBREVIATIONS or (len(letters) == 1 and letters.isupper())


def _bare(word: str) -> str:
    """The word in lower case without a possessive: "Tower's" and "tower" are one word."""
    word = word.lower()
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _is_adverb(word: str) -> bool:
    return len(word) >= 4 and word.endswith("ly") and word not in ADVERB_STOP_LIST


def _is_participle(word: str) -> bool:
    if word in IRREGULAR_PARTICIPLES:
        return True
    if len(word) < 4 or not word.endswith("ed") or word in ED_NOT_PASSIVE:
        return False
    return not word.endswith("eed") or word in EED_PARTICIPLES


# Each helper below answers (severity, category, message, suggestion) for the paragraph, or None.
_Report = tuple[str, str, str, str]


def _adverb_density(paragraph: _Paragraph, settings: StyleSettings) -> _Report | None:
    adverbs = [word for word in paragraph.words if _is_adverb(_bare(word))]
    total = len(paragraph.words)
    if len(adverbs) < settings.adverb_minimum or len(adverbs) <= settings.adverb_share * total:
        return None
    return ("warning", "adverb_density",
            f"{len(adverbs)} adverbs in {total} words ({len(adverbs) / total:.0%}): {_listing(adverbs)}.",
            "Let the verbs carry the manner: cut adverbs, or trade a verb and its adverb for one precise verb.")


def _passive_voice(paragraph: _Paragraph, settings: StyleSettings) -> _Report | None:
    phrases: list[str] = []
    for sentence in paragraph.sentences:
        words = [_bare(word) for word in
                 paragraph.words[sentence.first_word:sentence.first_word + sentence.word_count]]
        phrases.extend(_passive_phrases(words))
    if len(phrases) < settings.passive_per_paragraph:
        return None
    return ("warning", "passive_voice",
            f"{len(phrases)} passive constructions in one paragraph: {_listing(phrases)}.",
            "Say who does what: make the one acting the subject of the sentence.")


def _passive_phrases(words: list[str]) -> Iterator[str]:
    """Each "was (not) taken" of one sentence's words, as written, lower case."""
    for index, word in enumerate(words):
        if word not in BE_FORMS:
            continue
        following = index + 1
        while (following < len(words) and following - index <= 2
               and (words[following] in PASSIVE_FILLERS or _is_adverb(words[following]))):
            following += 1
        if following < len(words) and _is_participle(words[following]):
            yield " ".join(words[index:following + 1])


def _repetition(paragraph: _Paragraph, names: set[str], settings: StyleSettings) -> _Report | None:
    window = settings.repetition_window
    recent: dict[str, deque[int]] = {}
    repeated: list[str] = []
    for position, word in enumerate(paragraph.words):
        key = _bare(word)
        if len(key) <= 3 or "'" in key or "’" in key or key in REPETITION_STOP_LIST or key in names:
            continue
        positions = recent.setdefault(key, deque())
        positions.append(position)
        while positions[0] <= position - window:
            positions.popleft()
        if len(positions) >= settings.repetition_count and key not in repeated:
            repeated.append(key)
    if not repeated:
        return None
    return ("info", "repetition",
            f"Repeated within {window} words ({settings.repetition_count} times or more): {_listing(repeated)}.",
            "Vary the word, or let a pronoun or the sentence's shape carry it.")


def _listing(items: list[str], shown: int = 6) -> str:
    quoted = ", ".join(f"“{item}”" for item in items[:shown])
    return quoted + (f" and {len(items) - shown} more" if len(items) > shown else "")
