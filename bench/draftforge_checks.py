"""How long DraftForge's four deterministic checks take over a whole novel (goal: ≤ 3 s).

The novel is synthetic: 40 chapters, 100,000 words in all, made of the fixture manuscript's
paragraphs (``plugins/draftforge/tests/fixtures/manuscript``), each chapter taking them in a
different order, with the characters renamed every few chapters so the checks see many
characters, dates and measures rather than the same few over and over (their planted problems
come along, so there are findings to make). Each check runs over the whole book, ``--repeat``
times; the best time of each is printed, and their sum against the goal.

Run: ``.venv/bin/python -m bench.draftforge_checks [--words 100000] [--chapters 40] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

PLUGIN = Path(__file__).resolve().parent.parent / "plugins" / "draftforge"
sys.path.insert(0, str(PLUGIN))  # the plugin is not installed as a package yet

from inkwright_draftforge.checks import (  # noqa: E402
    Finding,
    ManuscriptFile,
    check_continuity,
    check_facts,
    check_style,
    check_timeline,
)

FIXTURE = PLUGIN / "tests" / "fixtures" / "manuscript"
GOAL_SECONDS = 3.0
# (name in the fixture, names it becomes in later groups of chapters)
CAST = (("Sarah", ("Sarah", "Maren", "Isla", "Grete", "Nora")), ("Tom", ("Tom", "Ewan", "Piet", "Rory", "Abel")))
CHAPTERS_A_CAST = 8


def fixture_paragraphs() -> list[str]:
    paragraphs = []
    for path in sorted((FIXTURE / "chapters").glob("*.md")):
        blocks = path.read_text(encoding="utf-8").split("\n\n")
        paragraphs.extend(block.strip() for block in blocks if block.strip() and not block.startswith("#"))
    return paragraphs


def synthetic_manuscript(words: int, chapters: int) -> list[ManuscriptFile]:
    paragraphs = fixture_paragraphs()
    per_chapter = words // chapters
    files = []
    for index in range(1, chapters + 1):
        body: list[str] = []
        count = 0
        position = index * 7  # each chapter starts somewhere else in the pool
        while count < per_chapter:
            paragraph = paragraphs[position % len(paragraphs)]
            body.append(paragraph)
            count += len(paragraph.split())
            position += 1
        text = f"# Chapter {index}: Part {index}\n\n" + "\n\n".join(body) + "\n"
        group = (index - 1) // CHAPTERS_A_CAST
        for name, names in CAST:
            text = text.replace(name, names[group % len(names)])
        files.append(ManuscriptFile(f"chapters/{index:02d}-part-{index}.md", text, index, f"Part {index}"))
    return files


def best_time(check: Callable[[], list[Finding]], repeat: int) -> tuple[float, int]:
    best, found = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        found = len(check())
        best = min(best, time.perf_counter() - started)
    return best, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args(argv)

    files = synthetic_manuscript(arguments.words, arguments.chapters)
    facts_text = (FIXTURE / "manuscript" / "facts.md").read_text(encoding="utf-8")
    total_words = sum(len(file.text.split()) for file in files)
    total_chars = sum(len(file.text) for file in files)
    print(f"{len(files)} chapters, {total_words:,} words, {total_chars:,} characters")

    checks: dict[str, Callable[[], list[Finding]]] = {
        "style": lambda: check_style(files),
        "timeline": lambda: check_timeline(files),
        "continuity": lambda: check_continuity(files, context_window=5),
        "facts": lambda: check_facts(files, facts_text),
    }
    total = 0.0
    for name, check in checks.items():
        seconds, found = best_time(check, arguments.repeat)
        total += seconds
        print(f"  {name:<11} {seconds:6.3f} s  {found:5d} findings")
    verdict = "within" if total <= GOAL_SECONDS else "OVER"
    print(f"  {'all four':<11} {total:6.3f} s  ({verdict} the {GOAL_SECONDS:.0f} s goal)")
    return 0 if total <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
