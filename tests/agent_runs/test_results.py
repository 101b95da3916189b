"""A review in the seed's results shape (app/agent_runs/results.py): ids given by the core,
findings about places the content does not have dropped and counted."""

from __future__ import annotations

from decimal import Decimal

from app.agent_runs.results import CallTotals, build_results, id_prefix
from app.toolkit import ReviewIssue, ReviewReport

FILES = [{"path": "chapters/03-the-tower.md", "text": "one\ntwo\nthree"},
         {"path": "chapters/05-the-storm.md", "text": "Sarah's eyes were brown."}]
USE = CallTotals("offline:writer", 120, Decimal("0.0123"))


def issue(file, line, severity="warning", category="character_consistency"):
    return ReviewIssue(severity, category, f"about {file}:{line}", file=file, line=line)


def test_kept_findings_are_numbered_in_file_and_line_order_and_counted_by_severity():
    report = ReviewReport([issue("chapters/05-the-storm.md", 1, "error"), issue("chapters/03-the-tower.md", 3),
                           issue("chapters/03-the-tower.md", 1, "info")])
    built = build_results("continuity", "cont", report, FILES, USE)

    assert [(i["id"], i["file"], i["line"]) for i in built.results["issues"]] == [
        ("cont-001", "chapters/03-the-tower.md", 1), ("cont-002", "chapters/03-the-tower.md", 3),
        ("cont-003", "chapters/05-the-storm.md", 1)]
    assert built.severity_breakdown == {"error": 1, "warning": 1, "info": 1} == \
        built.results["stats"]["issues_by_severity"]
    assert built.results["stats"] == {"files_analyzed": 2, "total_words": 7,
                                      "issues_by_severity": {"error": 1, "warning": 1, "info": 1}}
    assert built.results["model_info"] == {"model": "offline:writer", "tokens_used": 120, "cost_cents": 1}
    assert (built.issues_found, built.discarded) == (3, 0)
    assert built.summary == "The continuity agent found 3 issues (1 error, 1 warning, 1 info) in 2 files."


def test_a_finding_in_an_unknown_file_or_past_the_last_line_is_dropped_and_counted():
    report = ReviewReport([issue("chapters/99-invented.md", 1), issue("chapters/03-the-tower.md", 4),
                           issue("chapters/03-the-tower.md", 0), issue("chapters/03-the-tower.md", 2),
                           ReviewIssue("info", "overall", "A line about the whole book.")])
    built = build_results("continuity", "cont", report, FILES, USE)

    assert [(i["file"], i["line"]) for i in built.results["issues"]] == [(None, None),
                                                                       ("chapters/03-the-tower.md", 2)]
    assert built.discarded == 3


def test_an_agents_prefix_is_its_own_or_its_names_first_letters():
    assert id_prefix("continuity") == "cont"
    assert id_prefix("test.proofread", "proof") == "proof"
    assert build_results("style", "styl", ReviewReport(), FILES, USE).summary == \
        "The style agent found nothing to flag in 2 files."
