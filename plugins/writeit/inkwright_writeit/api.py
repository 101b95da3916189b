"""WriteIt over JSON, under ``/api/writeit``: articles (start, list, read with their tree,
branch, export) and the tenant's style primers."""

from __future__ import annotations

from typing import Any

from app.toolkit import ApiBlueprint, NotFoundError, current_principal, repositories, run_progress, workflow_runs

from .articles import branch_article, failure_of, find_article, render_export, start_article, with_live_status
from .history import branch_tree, tree_record
from .models import Article, ArticleStatus
from .primers import PrimerLibrary
from .repositories import ArticleRepository
from .schemas import (
    ArticleBranchSchema,
    ArticleCreateSchema,
    ArticleDetailSchema,
    ArticleExportQuerySchema,
    ArticleExportSchema,
    ArticlePageSchema,
    ArticleQuerySchema,
    ArticleSchema,
    StylePrimerSchema,
    StylePrimerUpdateSchema,
)

api = ApiBlueprint("writeit_api", __name__, url_prefix="/api/writeit", description="WriteIt articles and style primers")


def run_summary(detail: Any) -> dict[str, Any]:
    return {
        "id": str(detail.id), "status": detail.status.value, "branchPoint": detail.branch_point,
        "pauseReason": detail.pause_reason,
        "steps": [{"key": step.step_key, "status": step.status.value, "candidates": len(step.candidates or []),
                   "userSelection": step.user_selection, "userFeedback": step.user_feedback,
                   "reused": step.reused_from_step_id is not None} for step in detail.steps],
    }


def article_detail(article: Article) -> ArticleView:
    """The article with its current run's progress and the tree of its runs."""
    service = workflow_runs()
    current = service.get(article.current_run_id)
    detail = service.detail(current)
    return ArticleView(article, shown_status=ArticleStatus.of_run(current.status.value).value, run=run_summary(detail),
                       progress=run_progress(detail), failure=failure_of(detail),
                       tree=[tree_record(node, article.current_run_id)
                             for node in branch_tree(service.lineage(article.root_run_id))])


class ArticleView:
    """An article read like itself, with its live status, current run and tree added."""

    def __init__(self, article: Article, **extra: Any) -> None:
        self._article = article
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._article, name)


@api.route("/articles", methods=["POST"])
@api.arguments(ArticleCreateSchema)
@api.response(201, ArticleSchema)
def create_article(body: dict[str, Any]):
    """Start an article: the pipeline run begins at once (angles first)."""
    current_principal().require("articles", "create")
    return start_article(body["topic"], body.get("audience"), body.get("primer_id"), body.get("models") or {})


@api.route("/articles", methods=["GET"])
@api.arguments(ArticleQuerySchema, location="query")
@api.response(200, ArticlePageSchema)
def list_articles(query: dict[str, Any]):
    """The tenant's articles, newest first."""
    current_principal().require("articles", "read")
    items, total = repositories().get(ArticleRepository).newest(query["limit"], query["offset"])
    return {"items": with_live_status(items), "total": total, "limit": query["limit"], "offset": query["offset"]}


@api.route("/articles/<article_id>", methods=["GET"])
@api.response(200, ArticleDetailSchema)
def get_article(article_id: str):
    """One article, its current run's steps and the tree of its branches."""
    current_principal().require("articles", "read")
    return article_detail(find_article(article_id))


@api.route("/articles/<article_id>/branch", methods=["POST"])
@api.arguments(ArticleBranchSchema)
@api.response(201, ArticleDetailSchema)
def branch(body: dict[str, Any], article_id: str):
    """Branch from a step of one of the article's runs (no ``inputs``: rewind to it); the
    article follows the new run."""
    article = find_article(article_id)
    branch_article(article, body.get("run_id") or article.current_run_id, body["step"], body.get("inputs") or {})
    return article_detail(article)


@api.route("/articles/<article_id>/export", methods=["GET"])
@api.arguments(ArticleExportQuerySchema, location="query")
@api.response(200, ArticleExportSchema)
def export_article(query: dict[str, Any], article_id: str):
    """The article as Markdown (its final text) or as seed 001's YAML (a run with its steps,
    responses, selections and feedback); ``runId`` picks a run of the family."""
    current_principal().require("articles", "read")
    article = find_article(article_id)
    return render_export(article, query["format"], query.get("run_id"))


# Style primers --------------------------------------------------------------------------------
@api.route("/primers", methods=["GET"])
@api.response(200, StylePrimerSchema(many=True))
def list_primers():
    """The tenant's primers and the shipped ones (a tenant's own overrides a shipped one)."""
    current_principal().require("style_primers", "read")
    return PrimerLibrary(repositories()).all()


@api.route("/primers/<primer_id>", methods=["GET"])
@api.response(200, StylePrimerSchema)
def get_primer(primer_id: str):
    current_principal().require("style_primers", "read")
    primer = PrimerLibrary(repositories()).find(primer_id)
    if primer is None:
        raise NotFoundError(f"No style primer {primer_id!r} here.", {"primerId": primer_id})
    return primer


@api.route("/primers", methods=["POST"])
@api.arguments(StylePrimerSchema)
@api.response(201, StylePrimerSchema)
def create_primer(body: dict[str, Any]):
    """Add a primer of the tenant's own."""
    current_principal().require("style_primers", "create")
    return PrimerLibrary(repositories()).create(body)


@api.route("/primers/<primer_id>", methods=["PUT", "PATCH"])
@api.arguments(StylePrimerUpdateSchema)
@api.response(200, StylePrimerSchema)
def update_primer(body: dict[str, Any], primer_id: str):
    """Change a primer; changing a shipped one makes the tenant's own copy of it."""
    current_principal().require("style_primers", "update")
    return PrimerLibrary(repositories()).update(primer_id, body)


@api.route("/primers/<primer_id>", methods=["DELETE"])
@api.response(204)
def delete_primer(primer_id: str):
    """Remove the tenant's own primer (a shipped one of that id shows again)."""
    current_principal().require("style_primers", "delete")
    PrimerLibrary(repositories()).delete(primer_id)
