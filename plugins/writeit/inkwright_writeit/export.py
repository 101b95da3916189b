"""An article as Markdown, and a run of it as seed 001's YAML (the PipelineRun with its steps).

Pure functions over what the engine's run service returns; nothing here writes.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import escape
from typing import Any

import yaml

from app.toolkit import render_markdown

from .models import Article, ArticleStatus

FORMATS = ("markdown", "html", "yaml")
STEP_ORDER = ("angles", "outline", "draft", "polish")


def final_markdown(title: str, body: str) -> str:
    """The article's Markdown: its title as the top heading, then the polished sections."""
    return f"# {title.strip()}\n\n{body.strip()}\n"


#: The exported page may be opened from disk, far from the studio's headers: it carries its own
#: policy, under which nothing in it can run or load (only its own inline style applies).
_HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"


def as_html(title: str, markdown: str) -> str:
    """The article as a page of its own: the Markdown rendered and cleaned, as on the studio."""
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_HTML_POLICY}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title.strip())}</title>\n"
        "<style>body{max-width:42rem;margin:2rem auto;padding:0 1rem;font:17px/1.6 Georgia,serif;color:#1d2330}"
        "pre{white-space:pre-wrap}</style>\n</head>\n<body>\n<article>\n"
        f"{render_markdown(markdown)}</article>\n</body>\n</html>\n")


def filename(article: Article, extension: str) -> str:
    """A download name from the title (or topic): lower-case words joined by dashes."""
    stem = re.sub(r"[^a-z0-9]+", "-", (article.title or article.topic).lower()).strip("-")[:60] or "article"
    return f"{stem}.{extension}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def response_record(response: Any) -> dict[str, Any]:
    """One AI response as seed 001's AIResponse."""
    return {
        "response_id": str(response.id),
        "candidate_index": response.candidate_index,
        "model_name": response.model_name,
        "provider": response.provider,
        "prompt_used": response.prompt_used,
        "raw_output": response.raw_output,
        "processed_content": response.processed_content,
        "created_at": _iso(response.created_at),
        "usage_stats": {"input_tokens": response.tokens_input, "output_tokens": response.tokens_output,
                        "total_tokens": response.tokens_total, "cost_usd": _number(response.cost_usd)},
        "processing_time": round((response.processing_ms or 0) / 1000, 3),
        "quality_score": response.quality_score,
        "offline": bool(response.offline),
    }


def step_record(step: Any) -> dict[str, Any]:
    """One step as seed 001's StepState: its responses, the writer's selection and feedback."""
    candidates = step.candidates or []
    return {
        "step_name": step.step_id,
        "status": step.status.value,
        "started_at": _iso(step.started_at),
        "completed_at": _iso(step.ended_at),
        "duration_ms": step.duration_ms,
        "retry_count": max(0, (step.attempt or 0) - 1),
        "reused_from_parent": step.reused_from_step_id is not None,
        "candidates": [{"index": c.get("index"), "model": (c.get("output") or {}).get("model") or c.get("model"),
                        "offline": bool(c.get("offline")), "text": (c.get("output") or {}).get("text")}
                       for c in candidates],
        "ai_responses": [response_record(r) for r in step.responses],
        "user_selection": step.user_selection,
        "user_feedback": step.user_feedback,
        "merged_content": step.merged_content,
    }


def current_step(steps: list[Any]) -> str | None:
    """The first step not completed yet, else the last one (seed 001's current_step)."""
    for step in steps:
        if step.status.value != "completed":
            return step.step_id
    return steps[-1].step_id if steps else None


def pipeline_run(article: Article, detail: Any) -> dict[str, Any]:
    """A run of the article as seed 001's PipelineRun, with its steps in pipeline order."""
    steps = sorted(detail.steps, key=lambda s: (STEP_ORDER.index(s.step_id) if s.step_id in STEP_ORDER else 99))
    inputs = {key: value for key, value in (detail.inputs or {}).items() if key != "style_guide"}
    return {
        "pipeline_run_id": str(detail.id),
        "configuration_id": detail.workflow_name,
        "configuration_version": str(detail.workflow_version),
        "parent_pipeline_run_id": str(detail.parent_run_id) if detail.parent_run_id else None,
        "branch_point": detail.branch_point,
        "created_at": _iso(detail.created_at),
        "completed_at": _iso(detail.completed_at),
        "current_step": current_step(steps),
        "status": ArticleStatus.of_run(detail.status.value).value,
        "article": {"id": str(article.id), "title": article.title, "topic": article.topic,
                    "style_primer": article.primer_id},
        "user_inputs": inputs,
        "usage": {"tokens_input": detail.tokens_input, "tokens_output": detail.tokens_output,
                  "cost_usd": _number(detail.cost_usd), "model_calls": detail.model_calls},
        "steps": {step.step_id: step_record(step) for step in steps},
    }


class _InertDumper(yaml.SafeDumper):
    """Writes any string holding `<` or `>` double-quoted, so those two can be escaped."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if ("<" in text or ">" in text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_InertDumper.add_representer(str, _represent_text)


def as_yaml(record: dict[str, Any]) -> str:
    """The record as YAML in which no markup is live, yet every string loads back as it was.

    A topic or a model's answer may hold `<script>`; a viewer that sniffs or previews the file
    must not find a tag in it. Every string holding `<` or `>` is written double-quoted (the
    representer above), and inside a double-quoted scalar `\\x3C` and `\\x3E` are YAML's own
    escapes for them, so the file has no literal angle bracket and `yaml.safe_load` returns the
    original text.
    """
    text = yaml.dump(record, Dumper=_InertDumper, sort_keys=False, allow_unicode=True, width=100)
    return text.replace("<", "\\x3C").replace(">", "\\x3E")
