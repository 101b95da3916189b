"""What a one-chapter save costs DraftForge's writing statistics (goal: ≤ 200 ms of worker time).

The manuscript: 40 chapters of 2,500 words (100,000 words), with a year of daily history in
its stats. A save changes one chapter, so the update counts that chapter's new text
(``count_file``) and adds the difference to the totals (``apply_commit``, given the chapter's
counts before and after); the other 39 chapters are not read. Each repetition saves the
chapter with its last paragraph rewritten, as a writer's autosaves do.

Reported per update, over ``--repeat`` saves: the median, best and 95th percentile of wall
time (``perf_counter``) and the median of CPU time (``process_time``), for the update and
its two parts. Beside it, for scale: storing the row as JSON and reading it back (what the
plugin adds around the update), and counting all 40 chapters (what a full recount on every
save would cost instead).

Run: ``.venv/bin/python -m bench.draftforge_stats [--repeat 200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))
# plugins/draftforge is not packaged yet; once it is installed, this line goes.
sys.path.insert(0, str(ROOT / "plugins" / "draftforge"))

from inkwright_draftforge.stats import (  # noqa: E402
    CommitRecord,
    FileCounts,
    ProjectStats,
    apply_commit,
    count_file,
    rebuild,
)

from bench.report import median, print_table, save  # noqa: E402

GOAL_MS = 200.0
CHAPTERS = 40
CHAPTER_WORDS = 2_500
HISTORY_DAYS = 365
VOCABULARY = ("the sea was grey and the lighthouse stood above it like a question nobody had asked "
              "Mara climbed the stairs counting each one as her father had taught her don't look down "
              "he'd said the wind doesn't care whether you're brave it only cares whether you hold on "
              "Tobias waited at the harbour with a lantern and a letter he'd read a hundred times").split()


def chapter_text(chance: random.Random, number: int, words: int) -> str:
    """A Markdown chapter of about ``words`` words: a heading, paragraphs with emphasis and
    dialogue, a scene break and a link, as a novel's chapter has."""
    paragraphs = [f"# Chapter {number}: The Lighthouse"]
    written = 4
    while written < words:
        length = min(chance.randint(40, 120), words - written)
        sentence = " ".join(chance.choice(VOCABULARY) for _ in range(length))
        paragraphs.append(f"“{sentence[:1].upper()}{sentence[1:]},” she said. *Then* nothing.")
        written += length + 4
        if len(paragraphs) % 12 == 0:
            paragraphs.append("* * *")
    paragraphs.append("See [the keeper's log](https://example.com/log_(1901)) for the dates.")
    return "\n\n".join(paragraphs) + "\n"


def manuscript_stats(chapter: FileCounts) -> ProjectStats:
    """Stats of a 40-chapter manuscript written over a year: a chapter a day for 40 days, then
    a commit a day editing one. Built from counts alone, so only the timed save counts text."""
    start = datetime(2025, 1, 1, 21, tzinfo=timezone.utc)
    commits = [CommitRecord(f"add{day:04d}", start + timedelta(days=day), {f"chapters/{day + 1:02d}.md": chapter})
               for day in range(CHAPTERS)]
    commits += [CommitRecord(f"edit{day:04d}", start + timedelta(days=day),
                             {f"chapters/{day % CHAPTERS + 1:02d}.md": chapter})
                for day in range(CHAPTERS, HISTORY_DAYS)]
    return rebuild(commits)


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``function(*args, **kwargs)``, its wall time and its CPU time, in milliseconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def stored_and_read(stats: ProjectStats) -> ProjectStats:
    """The stats through the database's JSON and back, as the plugin keeps them between saves."""
    return ProjectStats.from_json(json.loads(json.dumps(stats.to_json())))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def row(step: str, wall: list[float], cpu: list[float]) -> dict[str, Any]:
    return {"step": step, "median_ms": median(wall), "best_ms": min(wall), "p95_ms": percentile(wall, 0.95),
            "cpu_median_ms": median(cpu)}


def run(repeat: int = 200) -> dict[str, Any]:
    chance = random.Random(2025)
    texts = [chapter_text(chance, number, CHAPTER_WORDS) for number in range(1, CHAPTERS + 1)]
    path = "chapters/17.md"
    counts = count_file(texts[16])
    stats = manuscript_stats(counts)
    assert stats.chapter_count == CHAPTERS and len(stats.stats_history) == HISTORY_DAYS
    saved_at = datetime(2026, 1, 2, 9, tzinfo=timezone.utc)

    timings: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in
                                                          ("count_file", "apply_commit", "update", "store")}
    for index in range(repeat + 1):
        # The chapter with its last paragraph rewritten: about 2,500 words every time.
        text = texts[16] + "\n" + chapter_text(chance, 17, 60).split("\n\n", 1)[1]
        new_counts, count_wall, count_cpu = timed(count_file, text)
        stats, apply_wall, apply_cpu = timed(apply_commit, stats, sha=f"save{index:05d}",
                                             committed_at=saved_at + timedelta(minutes=index),
                                             changed={path: new_counts}, previous={path: counts})
        _, store_wall, store_cpu = timed(stored_and_read, stats)
        counts = new_counts
        if index == 0:
            continue  # the warm-up: first use of every regular expression and code path
        for name, wall, cpu in (("count_file", count_wall, count_cpu), ("apply_commit", apply_wall, apply_cpu),
                                ("update", count_wall + apply_wall, count_cpu + apply_cpu),
                                ("store", store_wall, store_cpu)):
            timings[name][0].append(wall)
            timings[name][1].append(cpu)

    recount_wall, recount_cpu = [], []
    for _ in range(max(3, repeat // 20)):
        _, wall, cpu = timed(lambda chapters: [count_file(chapter) for chapter in chapters], texts)
        recount_wall.append(wall)
        recount_cpu.append(cpu)

    labels = {"update": "one-chapter save: count_file + apply_commit",
              "count_file": "  count_file (2,500-word chapter)",
              "apply_commit": "  apply_commit (40 chapters, 365 days of history)",
              "store": "for scale: to_json, json round trip, from_json"}
    rows = [row(labels[name], *timings[name]) for name in ("update", "count_file", "apply_commit", "store")]
    rows.append(row("for scale: counting all 40 chapters", recount_wall, recount_cpu))
    update_ms = rows[0]["median_ms"]
    return {"repeat": repeat, "chapter_words": counts.words, "manuscript_words": stats.word_count,
            "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count(), "chapters": stats.chapter_count,
            "history_days": len(stats.stats_history), "rows": rows,
            "summary": [{"metric": "ms per one-chapter save (median wall)", "value": update_ms,
                         "goal": f"<= {GOAL_MS:.0f}", "met": update_ms <= GOAL_MS}]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="saves timed (after one warm-up)")
    args = parser.parse_args(argv)
    results = run(repeat=args.repeat)
    print(f"Manuscript: {results['chapters']} chapters, {results['history_days']} days of history; "
          f"{results['repeat']} saves of one chapter of {results['chapter_words']:,} words, its last paragraph "
          f"rewritten each time ({results['manuscript_words']:,} words in all). "
          f"{date.today().isoformat()}, load {results['load_average_1min']:.1f} "
          f"on {results['cpus']} CPUs")
    print_table("DraftForge stats update", results["rows"], ["step", "median_ms", "best_ms", "p95_ms", "cpu_median_ms"])
    summary = [dict(line, met="yes" if line["met"] else "NO") for line in results["summary"]]
    print_table("Goal", summary, ["metric", "value", "goal", "met"])
    print(f"\nresults: {save('draftforge_stats', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
