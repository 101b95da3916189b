"""A third party's review agent, written from the README alone, installed into a temporary
folder by tests/agent_runs/test_third_party_agent.py: it imports only ``app.toolkit``."""

from __future__ import annotations

import re

from app.toolkit import Agent, ReviewIssue, ReviewReport

CLICHES = re.compile(r"\b(dark and stormy|at the end of the day|in the nick of time)\b", re.IGNORECASE)


class Cliches(Agent):
    name = "acme.cliches"
    version = "1"
    description = "Stock phrases, and what the model thinks of the opening line."
    categories = ("cliche", "opening")
    id_prefix = "clich"

    def review(self, ctx, content):
        issues = []
        for file in content["files"]:
            ctx.check_cancelled()
            for number, line in enumerate(file["text"].splitlines(), start=1):
                for match in CLICHES.finditer(line):
                    issues.append(ReviewIssue("info", "cliche", f"\u201c{match.group(0)}\u201d is a stock phrase.",
                                              suggestion="Say it your own way.", file=file["path"], line=number))
        if content["files"]:
            first = content["files"][0]
            opinion = ctx.generate(f"In one sentence, judge this opening line: {first['text'].splitlines()[0]}",
                                   max_tokens=60)
            issues.append(ReviewIssue("info", "opening", opinion.text[:300], file=first["path"], line=1,
                                      confidence=0.5))
        return ReviewReport(issues)
