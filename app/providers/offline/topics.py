"""What a prompt is about: its names, quoted phrases, frequent words and subjects."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_STOPWORDS = frozenset("""
a about above across after again against all almost also although always am among an and another any
anyone anything are around as at away back be because been before being below best better between both
but by can cannot could did do does doing done down during each either else enough even ever every few
first for from further get gets give given go goes going good got had has have having he her here hers
herself him himself his how however i if in include includes including into is it its itself just keep
last least less let like made make makes making many may me might more most much must my myself near
need needs never new next no nor not now of off often on once one only or other others our ours out over
own per perhaps please rather really same say says see seem she should show since so some something such
than that the their theirs them themselves then there these they thing things this those though three
through to together too two under until up upon us use used using very was way we well were what when
where whether which while who whom whose why will with within without would yet you your yours yourself
write writes writing written compose draft create generate produce describe explain summarise summarize
suggest provide return answer respond tell help want based following below above given json output format
text paragraph paragraphs sentence sentences words word style tone short long brief detailed about around
chapter chapters section story stories article piece content title titles list item items essay essays
poem post blog email letter report review opening beginning ending version novel scene summary headline
tagline angle angles idea ideas point points tip tips give suggest haiku sonnet limerick tweet""".split())

_NAME = re.compile(r"\b[A-Z][a-z'’\-]*[a-z](?:\s+[A-Z][a-z'’\-]*[a-z])*")
_QUOTED = re.compile(r"[\"“]([^\"“”\n]{2,60})[\"”]")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*|[^\sA-Za-z]")
_ANALYSED_CHARS = 20_000  # topic reading stays fast even when a whole manuscript is the prompt


@dataclass(frozen=True)
class Topics:
    """What a prompt is about: proper names, quoted phrases, its most frequent words and the
    runs of content words around them (its subjects)."""

    names: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        """Noun phrases to write about, the most telling first."""
        return (*self.phrases, *self.names, *(_noun_phrase(subject) for subject in self.subjects))


def _strip_possessive(text: str) -> str:
    return re.sub(r"['’]s$", "", text)


def read_topics(prompt: str) -> Topics:
    """Pick out the names, quoted phrases and most frequent content words of a prompt."""
    text = prompt[:_ANALYSED_CHARS]
    phrases = []
    for match in _QUOTED.finditer(text):
        phrase = " ".join(match.group(1).split()).strip(" .,;:!?")
        if re.search(r"[A-Za-z]", phrase) and len(phrase.split()) <= 6 and phrase not in phrases:
            phrases.append(phrase)
    found: list[tuple[str, bool]] = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        stripped = 0
        while words and words[0].lower() in _STOPWORDS:
            words.pop(0)
            stripped += 1
        if not words:
            continue
        before = text[:match.start()].rstrip(" \t\"'“‘(")
        at_start = not stripped and (not before or before[-1] in ".!?:\n")
        found.append((_strip_possessive(" ".join(words)), at_start and len(words) == 1))
    mid_sentence = {name for name, at_start in found if not at_start}
    names: list[str] = []
    for name, at_start in found:
        # A lone capitalised word opening a sentence is only a name if it is capitalised elsewhere too.
        if (not at_start or name in mid_sentence) and name not in names and name not in phrases:
            names.append(name)
    in_names = {word.lower() for name in names for word in name.split()}
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    runs: Counter[tuple[str, ...]] = Counter()
    run: list[str] = []
    # Runs of content words ("lighthouse keeper", "remote work") are the prompt's noun phrases,
    # near enough: stopwords, names, numbers and punctuation end a run.
    for index, match in enumerate(_TOKEN.finditer(text + ".")):
        word = _strip_possessive(match.group().lower()).strip("-'’")
        if not _is_content_word(word, in_names):
            if run:
                runs[tuple(run[-3:])] += 1
                first_seen.setdefault(" ".join(run[-3:]), index)
            run = []
            continue
        run.append(word)
        counts[word] += 1
        first_seen.setdefault(word, index)
    words = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))[:6]

    def weight(words_of_run: tuple[str, ...]) -> float:
        return max(counts[w] for w in words_of_run) + 0.5 * (len(words_of_run) - 1)

    subjects = [r for r in runs if len(r) > 1 or not r[0].endswith("ing") or counts[r[0]] > 1]
    subjects.sort(key=lambda r: (-weight(r), first_seen[" ".join(r)]))
    return Topics(names=tuple(names[:4]), phrases=tuple(phrases[:3]), words=tuple(words),
                  subjects=tuple(" ".join(r) for r in subjects[:5]))


def _is_content_word(word: str, names: set[str]) -> bool:
    return (len(word) >= 3 and word.isalpha() and word not in _STOPWORDS and word not in names
            and not word.endswith(("ly", "ed")))


def _noun_phrase(subject: str) -> str:
    """``subject`` ready to stand in a sentence: ``the lighthouse``, but ``small teams``, ``gardening``."""
    last = subject.split()[-1]
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is"))
    return subject if plural or last.endswith("ing") else f"the {subject}"
