"""The benchmarks' results: printed as a table, stored as JSON in ``bench/results/`` (git-ignored)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def print_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print ``rows`` (dicts) as an aligned text table of ``columns``."""
    texts = [[cell(row.get(column, "")) for column in columns] for row in rows]
    widths = [max([len(column), *(len(text[i]) for text in texts)]) for i, column in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths)))
    print("  ".join("-" * width for width in widths))
    for text in texts:
        print("  ".join(value.rjust(width) if i else value.ljust(width)
                        for i, (value, width) in enumerate(zip(text, widths))))


def save(name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` (with a timestamp) to ``bench/results/<name>.json`` and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **data}, indent=2,
                               default=str) + "\n")
    return path


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
