"""``test.proofread``: the core's own review agent, for tests and for trying agent runs
with nothing else installed.

It checks each file offline (a word typed twice, a ``TODO`` left in) and asks the model once
per file for findings, in a JSON schema. Whatever the model invents about places that do not
exist is the core's to drop (``app/agent_runs/results.py``); the offline provider's schema-
shaped answers exercise exactly that.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..toolkit import Agent, ReviewIssue, ReviewReport, Severity, StepContext

_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
_TODO = re.compile(r"\bTODO\b")

FINDINGS_SCHEMA = {
    "type": "object",
    "properties": {"findings": {"type": "array", "maxItems": 5, "items": {
        "type": "object",
        "properties": {"line": {"type": "integer"}, "message": {"type": "string"},
                       "severity": {"type": "string", "enum": ["error", "warning", "info"]}},
        "required": ["line", "message", "severity"]}}},
    "required": ["findings"],
}


def offline_findings(path: str, text: str) -> list[ReviewIssue]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _DOUBLED.finditer(line):
            found.append(ReviewIssue(Severity.WARNING, "doubled_word", f"\u201c{match.group(1)}\u201d is typed twice.",
                                     suggestion="Delete one of them.", file=path, line=number))
        if _TODO.search(line):
            found.append(ReviewIssue(Severity.INFO, "todo", "A TODO is left in the text.", file=path, line=number))
    return found


class Proofreader(Agent):
    name = "test.proofread"
    version = "1"
    description = "Doubled words and TODOs, and one model call per file."
    categories = ("doubled_word", "todo", "model_note")
    id_prefix = "proof"

    def review(self, ctx: StepContext, content: dict[str, Any]) -> ReviewReport:
        issues: list[ReviewIssue] = []
        model = (content.get("settings") or {}).get("model")
        for file in content.get("files") or []:
            ctx.check_cancelled()
            path, text = str(file["path"]), str(file.get("text") or "")
            issues.extend(offline_findings(path, text))
            numbered = "\n".join(f"{n}: {line}" for n, line in enumerate(text.splitlines(), start=1))
            answer = ctx.generate(f"Proofread {path}; report findings by line number.\n\n{numbered}",
                                  model=model, json_schema=FINDINGS_SCHEMA, max_tokens=400)
            for finding in _parsed(answer.text):
                issues.append(ReviewIssue(finding["severity"], "model_note", str(finding["message"])[:500],
                                          file=path, line=int(finding["line"]), confidence=0.5))
        return ReviewReport(issues=issues)


def _parsed(text: str) -> list[dict[str, Any]]:
    try:
        findings = json.loads(text).get("findings") or []
    except (ValueError, AttributeError):
        return []
    return [f for f in findings if isinstance(f, dict) and isinstance(f.get("line"), int)
            and f.get("severity") in ("error", "warning", "info")]
