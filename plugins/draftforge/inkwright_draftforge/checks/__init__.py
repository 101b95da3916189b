"""DraftForge's deterministic manuscript checks: what each review agent finds without a model.

Pure Python over text (no model, no network, no ``app``): each check takes the manuscript's
files in reading order and answers a list of ``Finding``; an agent adds what its model finds.

* ``findings`` — the ``Finding`` and ``ManuscriptFile`` types, and ``LineIndex``/``line_of`` from
  a character offset to the 1-based line a finding names.
* ``style`` — ``check_style``: adverb-heavy and passive paragraphs, repeated words, long sentences
  (thresholds in ``StyleSettings``, or a project's settings mapping).
* ``timeline`` — ``check_timeline``: a weekday that does not fit its date; an age that does not fit
  a character's birth year and the scene's year.
* ``continuity`` — ``check_continuity``: a character's eye or hair colour stated two ways, within
  the last ``context_window`` chapters or the whole book.
* ``facts`` — ``check_facts``: one thing's height, length... stated two ways, between chapters or
  against ``manuscript/facts.md``.

Every check is linear in the text's size: its regexes are compiled once, bounded or possessive,
so hostile input (a megabyte-long line) costs no more than prose of that size.
"""

from .continuity import check_continuity
from .facts import FACTS_PATH, check_facts
from .findings import SEVERITIES, Finding, LineIndex, ManuscriptFile, line_of
from .style import StyleSettings, check_style
from .timeline import check_timeline

__all__ = [
    "FACTS_PATH",
    "SEVERITIES",
    "Finding",
    "LineIndex",
    "ManuscriptFile",
    "StyleSettings",
    "check_continuity",
    "check_facts",
    "check_style",
    "check_timeline",
    "line_of",
]
