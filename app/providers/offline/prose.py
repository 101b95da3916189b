"""Readable prose about a prompt's topics: sentences, paragraphs, titles and lists."""

from __future__ import annotations

import random
import re

from .topics import Topics

WORDS_PER_TOKEN = 0.75

_ASKED_WORDS = re.compile(r"\b(\d{2,5})\s*(?:-\s*word|words)\b", re.IGNORECASE)
_ASKED_LIST = re.compile(r"\b(\d{1,2})\s+(?:[a-z\-]+\s+){0,2}?(?:ideas|angles|points|items|titles|headlines|"
                         r"questions|steps|options|names|tips|reasons|ways|themes|hooks|taglines|slogans|bullets|"
                         r"suggestions|examples)\b", re.IGNORECASE)
_ASKED_TITLE = re.compile(r"\b(?:a|one|the)\s+(?:short\s+|catchy\s+|good\s+|new\s+)?"
                          r"(?:title|headline|tagline|slogan)\b", re.IGNORECASE)

_ADJECTIVES = ("quiet", "stubborn", "luminous", "uneasy", "deliberate", "fragile", "restless", "patient",
               "bright", "unhurried", "strange", "familiar", "tender", "sharp", "weathered", "curious",
               "steady", "hidden", "generous", "careful", "wild", "gentle", "urgent", "vivid", "faint",
               "candid", "difficult", "surprising", "lasting", "plain")
NOUNS = ("pattern", "promise", "rhythm", "question", "idea", "thread", "silence", "shape", "map", "story",
         "habit", "plan", "memory", "signal", "choice", "journey", "argument", "picture", "tension", "secret")
_GENERIC_TERMS = ("the work", "the question at hand", "the day ahead", "the idea", "the plan",
                  "the world around it", "what comes next")
_INVENTED_NAMES = ("Mara Vell", "Ilse Thorn", "Jonah Pike", "Ada Quill", "Teodor Lane", "Rosa Finch",
                   "Caleb Wren", "Nell Ashby")
_INTROS = (
    "It begins, as these things often do, with {a}.",
    "Everything here turns on {a}.",
    "Start with {a}, because everything else follows from it.",
    "{a} is easy to name and harder to understand.",
    "There is more to {a} than first appears.",
    "Before anything else, there was {a}.",
)
_NAMED_INTROS = (
    "{name} had thought about {a} for a long time before saying a word.",
    "For {name}, it all started with {a}.",
)
_SENTENCES = (
    "At the heart of it lies {a}, and everything else bends around it.",
    "Nobody spoke of {a} for a while; the silence said enough.",
    "There is something {adj} about {a} that rewards a closer look.",
    "By evening, {b} was the only thing anyone could talk about.",
    "The trouble with {a} is that it rarely arrives alone, and {b} is never far behind.",
    "Seen from a distance, {a} looks simple; up close, it is anything but.",
    "Consider {a}: {adj}, {adj2}, and stubbornly real.",
    "Every account of {a} eventually circles back to {b}.",
    "In the end, {a} and {b} turned out to be two halves of the same {noun}.",
    "The first lesson of {a} is patience; the second is attention.",
    "Somewhere between {a} and {b}, a {adj} {noun} began to take shape.",
    "The light was {adj}, the air was {adj2}, and {a} waited.",
    "That is why {a} deserves more than a passing glance.",
    "Even now, the memory of {a} feels {adj}.",
    "It would be easy to dismiss {a} as a detail, but details are where the truth hides.",
    "What matters is not {a} itself but what it asks of the people around it.",
    "Ask ten people about {b} and you will hear eleven answers.",
    "The {noun} was never really about {a}; it was about {b}.",
    "Little by little, {a} gave up its secrets.",
    "Nothing about {b} was {adj}, and yet it held everyone's attention.",
    "One question kept returning: what would {a} look like a year from now?",
    "Here the {noun} shifts, and {a} shows a {adj} new face.",
    "Sometimes the quietest part of {a} is the one that lasts.",
    "A {adj} {noun} ran through all of it, tying {a} to {b}.",
    "Then, without warning, {b} changed everything.",
    "No map covers {a}; you learn it by walking.",
)
_NAMED_SENTENCES = (
    "{name} turned {a} over in their mind, weighing it against {b}.",
    "What {name} wanted, more than anything, was a clear answer about {a}.",
    "{name} kept a careful record of {a}, though no one had asked for it.",
    "{name} laughed at the thought, but only once.",
    "For {name}, {a} was never an abstraction; it was a {adj} fact of every day.",
    "{name} had seen {b} before, and knew better than to trust it.",
    "When {name} finally spoke, the words were about {a}.",
    "It was {name} who first noticed the {adj} pull of {b}.",
)
_TITLES = (
    "The {adj} Side of {a}", "{a} and {b}", "Why {a} Matters", "A {adj} Look at {a}",
    "What {a} Teaches Us", "Beyond {a}", "Notes on {a}", "The {noun} of {a}", "After {a}",
    "Inside {a}", "{a}, Revisited",
)
_SMALL_WORDS = frozenset("a an the of and or in on at to for with by as but".split())


class Prose:
    """Sentences, paragraphs, titles and lists about a prompt's topics, drawn from ``rng``."""

    def __init__(self, rng: random.Random, topics: Topics) -> None:
        self.rng = rng
        self.topics = topics
        self.terms = topics.terms or _GENERIC_TERMS
        self._deck: list[str] = []

    def answer(self, prompt: str, model: str, max_tokens: int | None) -> tuple[str, str]:
        """The answer to ``prompt`` and its finish reason (``length`` when max_tokens cut it short)."""
        budget = max(1, int(max_tokens * WORDS_PER_TOKEN)) if max_tokens else None
        listed = _ASKED_LIST.search(prompt)
        if listed or re.search(r"\b(?:list|bullet points?|outline)\b", prompt, re.IGNORECASE):
            count = min(20, max(1, int(listed.group(1)))) if listed else 5
            return self._fit(self.numbered_list(count), budget)
        if _ASKED_TITLE.search(prompt):
            return self._fit(self.title(), budget)
        asked = _ASKED_WORDS.search(prompt)
        if asked:
            natural = min(int(asked.group(1)), 5000)
        else:
            natural = self.rng.randint(50, 110) if model == "fast" else self.rng.randint(140, 260)
        target = min(natural, budget) if budget else natural
        return self.paragraphs(target), "length" if budget is not None and budget < natural else "stop"

    def paragraphs(self, target_words: int) -> str:
        """Paragraphs of whole sentences, as close to ``target_words`` as sentences allow, never over."""
        paragraphs: list[list[str]] = [[]]
        words = paragraph_words = 0
        paragraph_target = self.rng.randint(45, 85)
        sentence = self.sentence(intro=True)
        while True:
            length = len(sentence.split())
            if words + length > target_words:
                if words == 0:  # not even one sentence fits: cut it, as a model at its limit would
                    paragraphs[-1].append(" ".join(sentence.split()[:target_words]))
                break
            if paragraph_words >= paragraph_target:
                paragraphs.append([])
                paragraph_words, paragraph_target = 0, self.rng.randint(45, 85)
            paragraphs[-1].append(sentence)
            words += length
            paragraph_words += length
            sentence = self.sentence()
        return "\n\n".join(" ".join(p) for p in paragraphs if p)

    def sentence(self, intro: bool = False) -> str:
        """One sentence about the topics (an opening one when ``intro``)."""
        if intro:
            pool = _INTROS + (_NAMED_INTROS if self.topics.names else ())
            template = self.rng.choice(pool)
        else:
            if not self._deck:
                self._deck = list(_SENTENCES + (_NAMED_SENTENCES if self.topics.names else ()))
                self.rng.shuffle(self._deck)
            template = self._deck.pop()
        text = self._fill(template)
        return text[0].upper() + text[1:]

    def title(self) -> str:
        """A title in title case."""
        words = self._fill(self.rng.choice(_TITLES)).split()
        return " ".join(w if (i and w.lower() in _SMALL_WORDS) or not w[0].isalpha() else w[0].upper() + w[1:]
                        for i, w in enumerate(words))

    def numbered_list(self, count: int) -> str:
        return "\n".join(f"{i}. {self.title()}: {self.sentence()}" for i in range(1, count + 1))

    def term(self, avoid: str = "") -> str:
        """A topic to write about, the first ones (the prompt's main subject) more often."""
        terms = [t for t in self.terms if t != avoid] or list(self.terms)
        weights = [1 / (1 + i) for i in range(len(terms))]
        return self.rng.choices(terms, weights=weights)[0]

    def name(self) -> str:
        return self.rng.choice(self.topics.names or _INVENTED_NAMES)

    def word(self) -> str:
        return self.rng.choice(self.topics.words or NOUNS)

    def _fill(self, template: str) -> str:
        name = self.name()
        a = self.term(avoid=name)
        others = [t for t in self.terms if t not in (a, name)] or list(_GENERIC_TERMS)
        adjective, adjective2 = self.rng.sample(_ADJECTIVES, 2)
        text = template.format(a=a, b=self.rng.choice(others), name=name, adj=adjective, adj2=adjective2,
                               noun=self.rng.choice(NOUNS))
        return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)

    @staticmethod
    def _fit(text: str, budget: int | None) -> tuple[str, str]:
        """Cut ``text`` to ``budget`` words (whole lines when any fit), like a model at max_tokens."""
        if budget is None or len(text.split()) <= budget:
            return text, "stop"
        kept: list[str] = []
        for line in text.split("\n"):
            if len(" ".join([*kept, line]).split()) > budget:
                break
            kept.append(line)
        if not kept:
            kept = [" ".join(text.split()[:budget])]
        return "\n".join(kept), "length"
