"""A review as the seed stores it: ``{issues, stats, model_info}``.

An agent's findings come partly from a model, which may name a file the content does not have
or a line past a file's end. Such a finding would send a writer to nowhere, so it is dropped
here and counted (``discarded_findings``), never shown. The kept ones are numbered by the core
(``cont-001``, ``cont-002``...) in file-then-line order, so ids are stable for one report.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..agent import ReviewIssue, ReviewReport, Severity


@dataclass(frozen=True)
class CallTotals:
    """What the run's model calls used, for ``model_info``."""

    model: str | None
    tokens_used: int
    cost_usd: Decimal


@dataclass(frozen=True)
class Results:
    results: dict[str, Any]
    summary: str
    issues_found: int
    severity_breakdown: dict[str, int]
    discarded: int


def id_prefix(agent_name: str, declared: str = "") -> str:
    return (declared or agent_name.replace(".", "")[:4]).lower()


def _line_counts(files: list[dict[str, Any]]) -> dict[str, int]:
    return {str(f.get("path")): len(str(f.get("text") or "").splitlines()) or 1 for f in files}


def placed(issue: ReviewIssue, lines: dict[str, int]) -> bool:
    """Whether the finding points at a real place: a file of the content and a line it has
    (a finding about the whole work may name neither)."""
    if issue.file is None:
        return issue.line is None
    if issue.file not in lines:
        return False
    return issue.line is None or 1 <= issue.line <= lines[issue.file]


def build_results(agent_name: str, prefix: str, report: ReviewReport, files: list[dict[str, Any]],
                  use: CallTotals) -> Results:
    lines = _line_counts(files)
    kept = [issue for issue in report.issues if placed(issue, lines)]
    kept.sort(key=lambda i: (i.file or "", i.line or 0, i.category, i.message))
    breakdown = {severity.value: 0 for severity in Severity}
    issues = []
    for number, issue in enumerate(kept, start=1):
        breakdown[issue.severity.value] += 1
        issues.append({"id": f"{prefix}-{number:03d}", "severity": issue.severity.value, "category": issue.category,
                       "file": issue.file, "line": issue.line, "message": issue.message,
                       "suggestion": issue.suggestion, "confidence": round(float(issue.confidence), 4)})
    total_words = sum(len(str(f.get("text") or "").split()) for f in files)
    cost_cents = int((use.cost_usd * 100).to_integral_value(rounding="ROUND_HALF_UP"))
    results = {"issues": issues,
               "stats": {"files_analyzed": len(files), "total_words": total_words, "issues_by_severity": breakdown},
               "model_info": {"model": use.model, "tokens_used": use.tokens_used, "cost_cents": cost_cents}}
    summary = report.summary or _summary(agent_name, breakdown, len(files))
    return Results(results, summary, len(issues), breakdown, len(report.issues) - len(kept))


def _summary(agent_name: str, breakdown: dict[str, int], files: int) -> str:
    found = sum(breakdown.values())
    if not found:
        return f"The {agent_name} agent found nothing to flag in {files} file{'s' if files != 1 else ''}."
    parts = ", ".join(f"{count} {severity}{'s' if count != 1 else ''}" for severity, count in breakdown.items() if count)
    return f"The {agent_name} agent found {found} issue{'s' if found != 1 else ''} ({parts}) in {files} file" \
           f"{'s' if files != 1 else ''}."
