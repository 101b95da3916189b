"""Facts: one thing measured two ways — the tower 40 metres tall here, 60 metres high there.

A statement is a noun (the thing), a dimension and a length, written one of these ways:

* ``the tower was 40 metres tall`` — also *is*, *stood*, *rose*, *measured*..., *tall*, *high*,
  *long*, *wide*, *deep*, *thick*, *across*, *in height*...; up to two words before the noun
  (``the old stone tower``);
* ``a 40 m tower``, ``the 40-metre-high tower``, ``a 60-metre stone tower`` (a material or age
  word before the noun is skipped);
* ``the tower, some 40 metres tall,``;
* ``the height of the tower was 40 m``, ``the tower's height was 40 m``;
* in ``facts.md`` also ``tower: 40 m`` and ``tower height: 40 m``, with or without a bullet.

Without a dimension word the verb may give one (*rose*, *towered* → height; *stretched*, *ran* →
length; *plunged* → depth). *was*/*stood* alone say nothing of the dimension (``the tower stood
40 metres from the gate`` is a distance), so such a statement is left out, as is any length
followed by *away*, *from*, *behind*... A length with no dimension at all (``a 40 m tower``,
``tower: 40 m``) is taken to be of the noun's one dimension when the book (or facts.md) states
exactly one for it, and is left out otherwise.

Units are converted to metres (m, metre/meter and plurals, cm, km, ft/foot/feet, yd/yard, mi/mile),
and two lengths differ when they are more than 2 % apart (10 % when either is *about*, *nearly*,
*some*...), so ``40 m`` and ``131 feet`` agree. Bounds (*over 40 m*, *less than*) are no
statement of the length and are left out.

Every statement of a noun and dimension is compared with the first one; when ``facts.md``
states that noun and dimension, with the fact instead, and the finding cites ``facts.md``.
The noun alone identifies the thing: two different towers would be taken for one (hence a
confidence of 0.8 for a finding between chapters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Iterator

from .findings import Finding, LineIndex, ManuscriptFile

FACTS_PATH = "manuscript/facts.md"

METRES_PER_UNIT = {
    "m": 1.0, "metre": 1.0, "metres": 1.0, "meter": 1.0, "meters": 1.0,
    "cm": 0.01, "centimetre": 0.01, "centimetres": 0.01, "centimeter": 0.01, "centimeters": 0.01,
    "km": 1000.0, "kilometre": 1000.0, "kilometres": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048,
    "yd": 0.9144, "yard": 0.9144, "yards": 0.9144,
    "mi": 1609.344, "mile": 1609.344, "miles": 1609.344,
}
# How a message writes a unit, whatever the text's spelling ("60-metre" is "60 m").
SYMBOL_OF_METRES = {1.0: "m", 0.01: "cm", 1000.0: "km", 0.3048: "ft", 0.9144: "yd", 1609.344: "mi"}
DIMENSION_OF_ADJECTIVE = {"tall": "height", "high": "height", "long": "length", "wide": "width", "broad": "width",
                          "across": "width", "deep": "depth", "thick": "thickness", "height": "height",
                          "length": "length", "width": "width", "breadth": "width", "depth": "depth",
                          "thickness": "thickness"}
DIMENSION_OF_VERB = {"rose": "height", "rises": "height", "towered": "height", "towers": "height",
                     "soared": "height", "soars": "height", "stretched": "length", "stretches": "length",
                     "ran": "length", "runs": "length", "extended": "length", "extends": "length",
                     "plunged": "depth", "plunges": "depth", "measured": "size", "measures": "size"}
ADJECTIVE_OF_DIMENSION = {"height": "tall", "length": "long", "width": "wide", "depth": "deep",
                          "thickness": "thick"}
APPROXIMATE = frozenset({"some", "about", "almost", "nearly", "roughly", "around", "close to", "perhaps"})
BOUNDS = frozenset({"over", "under", "more than", "less than", "at least", "at most", "up to", "nearly over"})
# Words between the number and the noun that describe the thing rather than name it.
NOT_THE_NOUN = frozenset("""
    stone brick wooden timber iron steel concrete glass granite marble old new ancient narrow broad
    black white grey gray red dark tall high long wide deep
""".split())
# Words the noun slot can catch that are no thing at all ("a 40 m and ...").
NOT_A_NOUN = frozenset("and or of to in on at with from by for the a an was is were are that which it as so "
                       "but than then".split())

_UNIT = "(?P<unit>" + "|".join(sorted(METRES_PER_UNIT, key=len, reverse=True)) + r")\b"
# A thousands separator or a decimal point; possessive, so a megabyte of digits is read once.
_NUMBER = r"(?P<number>\d{1,3}+(?:,\d{3})++|\d++(?:\.\d++)?+)"
_DISTANCE = (r"(?!\s+(?:away|from|off|behind|below|beneath|above|ahead|apart|distant|further|farther|closer|"
             r"nearer|short|beyond|past|inland|offshore|toward|towards|out)\b)")
_MEASURE = rf"{_NUMBER}\s*+-?\s*+{_UNIT}{_DISTANCE}"
_ADJECTIVE = r"(?P<adjective>tall|high|long|wide|broad|across|deep|thick|in\s+(?:height|length|width|breadth|depth|thickness))\b"
_QUALIFIER = (r"(?:(?P<qualifier>some|about|almost|nearly|roughly|around|close\s+to|perhaps|over|under|more\s+than|"
              r"less\s+than|at\s+least|at\s+most|up\s+to|exactly|fully|just|only)\s+)?")
_VERB = "(?P<verb>was|is|were|are|stood|stands|reached|reaches|loomed|looms|" + "|".join(DIMENSION_OF_VERB) + r")"
_DIMENSION = r"(?P<dimension>height|length|width|breadth|depth|thickness)"
_DETERMINER = r"\b(?:the|this|that|its|a|an)"

PATTERNS = (
    # the (old stone) tower was 40 metres tall / the tower stood 60 meters high / the wall ran 3 km
    re.compile(rf"{_DETERMINER}\s+(?:[a-z]++\s+){{0,2}}?(?P<noun>[a-z]++)\s+{_VERB}\s+{_QUALIFIER}{_MEASURE}"
               rf"(?:\s+{_ADJECTIVE})?", re.IGNORECASE),
    # a 40 m tower / the 40-metre-high tower / a 60-metre stone tower
    re.compile(rf"{_DETERMINER}\s+{_MEASURE}(?:[\s-]+{_ADJECTIVE})?\s+(?P<first>[a-z]++)(?:\s+(?P<second>[a-z]++))?",
               re.IGNORECASE),
    # the tower, some 40 metres tall,
    re.compile(rf"\b(?:the|its)\s+(?P<noun>[a-z]++),\s+{_QUALIFIER}{_MEASURE}\s+{_ADJECTIVE}", re.IGNORECASE),
    # the height of the tower was 40 m
    re.compile(rf"\bthe\s+{_DIMENSION}\s+of\s+the\s+(?:[a-z]++\s+)?(?P<noun>[a-z]++)\s+(?:was|is|were|are)\s+"
               rf"{_QUALIFIER}{_MEASURE}", re.IGNORECASE),
    # the tower's height was 40 m
    re.compile(rf"\bthe\s+(?:[a-z]++\s+)?(?P<noun>[a-z]++)['’]s\s+{_DIMENSION}\s+(?:was|is|were|are)\s+"
               rf"{_QUALIFIER}{_MEASURE}", re.IGNORECASE),
)
# Only in facts.md, one fact a line: "- tower: 40 m", "Tower height: 40 m tall".
FACT_LINE = re.compile(rf"^\s*+(?:[-*+]\s+)?(?:the\s+)?(?P<noun>[a-z]++)(?:\s+{_DIMENSION})?\s*:\s*{_QUALIFIER}"
                       rf"{_MEASURE}(?:\s+{_ADJECTIVE})?", re.IGNORECASE)


@dataclass(frozen=True)
class _Measure:
    noun: str
    dimension: str  # "height", "length"...; "size" until the noun's one dimension is known
    metres: float
    written: str
    approximate: bool
    file: str
    line: int


def check_facts(files: Iterable[ManuscriptFile], facts_text: str | None = None,
                facts_path: str = FACTS_PATH) -> list[Finding]:
    """Lengths of one thing that disagree between chapters, or with ``facts_text`` (facts.md)."""
    facts = list(_fact_measures(facts_text, facts_path)) if facts_text else []
    stated = [measure for manuscript_file in files for measure in _chapter_measures(manuscript_file)]
    facts, stated = _settle_dimensions(facts, stated)
    canon: dict[tuple[str, str], _Measure] = {}
    for fact in facts:
        canon.setdefault((fact.noun, fact.dimension), fact)
    in_facts = set(canon)
    findings = []
    for measure in stated:
        key = (measure.noun, measure.dimension)
        first = canon.setdefault(key, measure)
        if first is not measure and _differ(first, measure):
            findings.append(_contradiction(measure, first, from_facts=key in in_facts))
    return findings


def _chapter_measures(manuscript_file: ManuscriptFile) -> list[_Measure]:
    lines = LineIndex(manuscript_file.text)
    found: dict[int, _Measure] = {}
    for pattern in PATTERNS:
        for match in pattern.finditer(manuscript_file.text):
            measure = _measure(match, manuscript_file.path, lines.line_of(match.start()))
            if measure is not None:
                found.setdefault(match.start("number"), measure)  # two forms reading one length count once
    return [found[offset] for offset in sorted(found)]


def _fact_measures(facts_text: str, facts_path: str) -> Iterator[_Measure]:
    for number, line in enumerate(facts_text.splitlines(), start=1):
        for pattern in (FACT_LINE, *PATTERNS):
            match = pattern.search(line)
            measure = _measure(match, facts_path, number) if match else None
            if measure is not None:
                yield measure
                break


def _measure(match: re.Match[str], file: str, line: int) -> _Measure | None:
    """The statement a match makes, or None when it is no statement of a dimension."""
    groups = match.groupdict()
    qualifier = " ".join((groups.get("qualifier") or "").lower().split())
    if qualifier in BOUNDS:
        return None
    noun = groups.get("noun")
    if noun is None:  # the attributive form: the noun is the first word, unless that one describes
        first, second = groups["first"].lower(), (groups["second"] or "").lower()
        noun = second if first in NOT_THE_NOUN and second and second not in NOT_A_NOUN else first
    noun = noun.lower()
    if noun in NOT_A_NOUN:
        return None
    dimension = _dimension(groups)
    if dimension is None:
        return None
    number, unit = groups["number"], groups["unit"]
    per_unit = METRES_PER_UNIT[unit.lower()]
    metres = float(number.replace(",", "")) * per_unit
    written = f"{qualifier} {number} {SYMBOL_OF_METRES[per_unit]}".lstrip()
    return _Measure(noun, dimension, metres, written, qualifier in APPROXIMATE, file, line)


def _dimension(groups: dict[str, str | None]) -> str | None:
    if groups.get("dimension"):
        return DIMENSION_OF_ADJECTIVE[groups["dimension"].lower()]
    if groups.get("adjective"):
        return DIMENSION_OF_ADJECTIVE[groups["adjective"].lower().split()[-1]]
    verb = groups.get("verb")
    if verb is not None:  # "the tower was 40 m" may be a distance; "rose 40 m" is a height
        return DIMENSION_OF_VERB.get(verb.lower())
    return "size"


def _settle_dimensions(facts: list[_Measure], stated: list[_Measure]) -> tuple[list[_Measure], list[_Measure]]:
    """Give a "size" the noun's dimension when the facts and chapters state just one for it, and
    drop the sizes that stay unknown: "a 3 km walk" and "a 10 km walk" are two walks, not one
    walk measured twice."""
    dimensions: dict[str, set[str]] = {}
    for measure in (*facts, *stated):
        if measure.dimension != "size":
            dimensions.setdefault(measure.noun, set()).add(measure.dimension)

    def settled(measures: list[_Measure]) -> list[_Measure]:
        kept = []
        for measure in measures:
            known = dimensions.get(measure.noun, set())
            if measure.dimension != "size":
                kept.append(measure)
            elif len(known) == 1:
                kept.append(replace(measure, dimension=next(iter(known))))
        return kept

    return settled(facts), settled(stated)


def _differ(first: _Measure, later: _Measure) -> bool:
    tolerance = 0.10 if first.approximate or later.approximate else 0.02
    return abs(first.metres - later.metres) > tolerance * max(first.metres, later.metres)


def _contradiction(later: _Measure, first: _Measure, from_facts: bool) -> Finding:
    adjective = ADJECTIVE_OF_DIMENSION.get(later.dimension)
    stated = f"{later.written} {adjective}" if adjective else f"given as {later.written}"
    source = "the facts say" if from_facts else "it is"
    return Finding(later.file, later.line, "error", "fact_consistency",
                   f"The {later.noun} is {stated} here, but {source} {first.written} in {first.file} "
                   f"(line {first.line}).",
                   f"Use one {later.dimension} for the {later.noun}"
                   + (", the one in the facts." if from_facts else ", or make clear these are two."),
                   confidence=1.0 if from_facts else 0.8)
