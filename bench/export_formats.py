"""What rendering a 100,000-word, 30-chapter book costs each export format (issue 16).

The baseline, measured in the same run: the same chapters' Markdown rendered to HTML alone
(the studio's renderer, markdown-it-py then nh3), which every format needs at least. Each
format (``app/exports/formats``) then renders the whole book, best of ``--repeat``. Goals:
EPUB ≤ 3×, DOCX ≤ 5×, PDF ≤ 10× the baseline and ≤ 20 s; peak RSS ≤ 300 MB, measured per
format in a fresh process of its own that imports the app, builds the book and renders it
once (its VmHWM: what a worker making that export holds at most, an upper bound).

What this leaves out, and the export job adds: reading the source (a git tree), storing the
file as an artifact, and the job's rows. Run: ``.venv/bin/python -m bench.export_formats``.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from app.exports.book import Book, BookChapter, ExportSettings  # noqa: E402
from app.exports.formats import FORMATS  # noqa: E402
from app.markdown_text import render_markdown  # noqa: E402
from bench.report import print_table, save  # noqa: E402

WORDS = ("the harbour light fell across the water and she walked on towards the old tower where "
         "nobody had lived for years although the keeper still came every evening").split()
GOALS = {"epub": 3.0, "docx": 5.0, "pdf": 10.0}


def novel(chapters: int = 30, words: int = 100_000, seed: int = 7) -> Book:
    """A book of ``words`` words: paragraphs of prose with some emphasis, a list and a quote."""
    rng = random.Random(seed)
    per_chapter = words // chapters
    made = []
    for number in range(1, chapters + 1):
        paragraphs, count = [], 0
        while count < per_chapter:
            length = min(rng.randint(40, 120), per_chapter - count)
            sentence = [rng.choice(WORDS) for _ in range(length)]
            sentence[rng.randrange(length)] = f"*{rng.choice(WORDS)}*"
            paragraphs.append(" ".join(sentence).capitalize() + ".")
            count += length
        paragraphs.insert(3, "- the tower\n- the light\n- the keeper")
        paragraphs.insert(6, "> Nobody had lived there for years.")
        made.append(BookChapter(f"Chapter {number}", f"# Chapter {number}\n\n" + "\n\n".join(paragraphs)))
    return Book(title="The Harbour Light", author="A. Writer", chapters=tuple(made), identifier="bench")


def best_of(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def run(repeat: int) -> dict:
    book = novel()
    settings = ExportSettings()
    baseline = best_of(repeat, lambda: [render_markdown(chapter.body) for chapter in book.chapters])
    rows = [{"format": "markdown → HTML alone (baseline)", "seconds": round(baseline, 3), "ratio": 1.0, "bytes": ""}]
    for name, export_format in FORMATS.items():
        sizes = []
        seconds = best_of(repeat, lambda: sizes.append(len(export_format.render(book, settings, lambda d, t: None))))
        rows.append({"format": name, "seconds": round(seconds, 3), "ratio": round(seconds / baseline, 2),
                     "bytes": sizes[-1]})
    for row in rows[1:]:
        row["peak_rss_mb"] = peak_rss_of(row["format"])
    summary = [{"metric": f"{name} / baseline", "value": row["ratio"], "goal": f"<= {GOALS[name]}",
                "met": row["ratio"] <= GOALS[name]} for row in rows for name in GOALS if row["format"] == name]
    pdf = next(row for row in rows if row["format"] == "pdf")
    heaviest = max(rows[1:], key=lambda row: row["peak_rss_mb"])
    summary += [{"metric": "pdf seconds", "value": pdf["seconds"], "goal": "<= 20", "met": pdf["seconds"] <= 20},
                {"metric": f"peak RSS MB ({heaviest['format']}, the heaviest)", "value": heaviest["peak_rss_mb"],
                 "goal": "<= 300", "met": heaviest["peak_rss_mb"] <= 300}]
    return {"words": book.words, "chapters": len(book.chapters), "rows": rows, "summary": summary}


def high_water_mb() -> int:
    """This process's peak RSS. VmHWM, not ``ru_maxrss``: Linux keeps ``ru_maxrss`` across
    exec, so a child started by a large parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def peak_rss_of(export_format: str) -> int:
    """The peak RSS in MB of a fresh process that renders the book once to ``export_format``."""
    done = subprocess.run([sys.executable, "-m", "bench.export_formats", "--child", export_format], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one render in this fresh process; its peak RSS on stdout
        FORMATS[args.child].render(novel(), ExportSettings(), lambda done, total: None)
        print(high_water_mb())
        return 0
    results = run(args.repeat)
    print(f"{results['words']:,} words in {results['chapters']} chapters")
    print_table("Export formats", results["rows"], ["format", "seconds", "ratio", "bytes", "peak_rss_mb"])
    print_table("Goals (issue 16)", results["summary"], ["metric", "value", "goal", "met"])
    print(f"\nresults: {save('export_formats', results)}")
    return 0 if all(row["met"] for row in results["summary"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
