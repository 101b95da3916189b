"""What a writer does with articles: start one, branch or rewind it, and what a finished run leaves.

An article is a family of pipeline runs (the first run and its branches); the article
follows one of them, its *current* run. Every run is the engine's: started, steered and
read through ``app.toolkit``'s run service, with the caller's permissions and tenancy.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from app.toolkit import (
    ConflictError,
    DomainEvent,
    NotFoundError,
    Run,
    StepStatus,
    ValidationError,
    check_model_names,
    current_principal,
    inert_markdown,
    public_error,
    record_audit,
    repositories,
    run_progress,
    runs_progress,
    start_workflow,
    utcnow,
    workflow_runs,
)

from .export import as_html, as_yaml, filename, final_markdown, pipeline_run
from .models import Article, ArticleStatus
from .primers import DEFAULT_PRIMER, PrimerLibrary
from .repositories import ArticleRepository

WORKFLOW = "writeit.article"
STEPS = ("angles", "outline", "draft", "polish")
#: The workflow's own default model per step (article.yaml), used when a preference is unset.
WORKFLOW_MODELS = {"angles": "offline:writer", "outline": "offline:writer", "draft": "offline:writer",
                   "polish": "offline:fast"}
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]*:[^\s]{1,150}$")


def preferences() -> dict[str, Any]:
    """The signed-in person's stored preferences (seed 001's UserPreferences)."""
    principal = current_principal()
    user = principal.user
    return dict(getattr(user, "preferences", None) or {})


def preferred_models() -> dict[str, str]:
    """The model per step: the person's ``default_models`` preference, else the workflow's."""
    stored = preferences()
    chosen = stored.get("default_models") or stored.get("defaultModels") or {}
    return {step: chosen.get(step) or WORKFLOW_MODELS[step] for step in STEPS}


def preferred_primer() -> str:
    return preferences().get("style_primer") or DEFAULT_PRIMER


def find_article(article_id: Any) -> Article:
    """:raises NotFoundError: for an article not in the caller's tenant (or not an id at all)."""
    return repositories().get(ArticleRepository).require(article_id)


def with_live_status(articles: list[Article]) -> list[Article]:
    """Give each article the status its current run has now, its progress and — when the
    run failed — why (two queries for the page): the stored status only changes at the
    ends of a run, not while it waits for a choice."""
    runs = repositories().runs
    ids = [article.current_run_id for article in articles]
    current = {run.id: run for run in runs_progress(runs.list(Run.id.in_(ids)))} if ids else {}
    for article in articles:
        run = current.get(article.current_run_id)
        article.progress = run.run_progress if run is not None else None
        article.failure = failure_of(run) if run is not None else None
        if run is not None:
            article.live_status = ArticleStatus.of_run(run.status.value).value
    return articles


def failure_of(run: Any) -> dict[str, Any] | None:
    """Why a run ended without its work done, as an error envelope (``code``, ``message``):
    the run's own error, else its first failed step's; ``None`` for a run that has not failed."""
    progress = run_progress(run)
    if not progress.finished or progress.succeeded:
        return None
    shown = public_error(run.error)
    if shown is None:
        failed = next((step for step in getattr(run, "steps", None) or []
                       if step.status == StepStatus.FAILED and step.error), None)
        shown = public_error(failed.error) if failed is not None else None
    if shown is None:
        said = {"cancelled": "The run was cancelled.", "crashed": "The run crashed: its worker went away."}
        shown = {"code": run.status.value.upper(), "message": said.get(run.status.value, "The run failed.")}
    return shown


def check_models(models: dict[str, str | None]) -> dict[str, str]:
    """Each step's model as ``provider:model``; a missing one falls back to the preferences."""
    preferred = preferred_models()
    problems = {f"models.{step}": ["Name the model as provider:model, e.g. offline:writer."]
                for step, name in models.items() if name and not MODEL_NAME.match(name)}
    unknown = sorted(set(models) - set(STEPS))
    for step in unknown:
        problems[f"models.{step}"] = [f"Unknown step; the steps are {', '.join(STEPS)}."]
    if problems:
        raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                              {"fields": problems})
    chosen = {step: models.get(step) or preferred[step] for step in STEPS}
    # Refused here, beside the step's own field, rather than by the run service under the
    # workflow's input names (issue 9): a stored preference naming a removed model counts too.
    check_model_names({f"models.{step}": model for step, model in chosen.items()})
    return chosen


def start_article(topic: str, audience: str | None, primer_id: str | None,
                  models: dict[str, str | None] | None = None) -> Article:
    """Start the pipeline for a new article.

    Everything is checked before anything is written: the topic, the primer (the tenant's
    or a shipped one), the models; then the run starts and the article row follows it.

    :raises ValidationError: with ``details.fields`` for a bad topic, primer or model.
    """
    topic = (topic or "").strip()
    if len(topic) < 3:
        raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                              {"fields": {"topic": ["Say what the article is about (at least 3 characters)."]}})
    repos = repositories()
    library = PrimerLibrary(repos)
    primer = library.require(primer_id or preferred_primer())
    chosen = check_models(models or {})
    audience = (audience or "").strip() or "general readers"
    inputs = {"topic": topic, "audience": audience, "style_primer": primer.primer_id,
              "style_guide": primer.format_for_prompt(),
              **{f"{step}_model": model for step, model in chosen.items()}}
    run = start_workflow(WORKFLOW, inputs)
    principal = current_principal()
    with repos.transaction() as tx:
        article = repos.get(ArticleRepository).add(Article(
            topic=topic, audience=audience, primer_id=primer.primer_id, root_run_id=run.id, current_run_id=run.id,
            status=ArticleStatus.RUNNING.value, created_by_user_id=principal.user_id))
        library.mark_used(primer.primer_id)
        tx.publish(DomainEvent("writeit.article.created", str(article.id),
                               {"articleId": str(article.id), "runId": str(run.id), "primerId": primer.primer_id},
                               tenant_id=article.tenant_id, actor_id=principal.user_id))
    return article


def branch_article(article: Article, run_id: Any, step: str, changes: dict[str, Any] | None) -> Run:
    """Branch one of the article's runs at ``step`` (a rewind when ``changes`` is empty);
    the article follows the new branch.

    :raises NotFoundError: for a run outside the article's family.
    :raises ValidationError: for an unknown step or inputs the workflow refuses.
    """
    service = workflow_runs()
    source = service.get(run_id)
    if source.root_run_id != article.root_run_id:
        raise NotFoundError(f"Run {run_id} is not one of this article's runs.", {"runId": str(run_id)})
    changes = dict(changes or {})
    if "style_primer" in changes:
        primer = PrimerLibrary(repositories()).require(changes["style_primer"], "inputs.style_primer")
        changes["style_guide"] = primer.format_for_prompt()
    branch = service.branch(source.id, step, changes)
    follow_run(article, branch)
    return branch


def follow_run(article: Article, run: Run, repos: Any = None) -> None:
    """Make ``run`` (one of the article's family) the one the article shows."""
    repos = repos or repositories()
    with repos.transaction():
        article.current_run_id = run.id
        article.status = ArticleStatus.of_run(run.status.value).value
        article.primer_id = (run.inputs or {}).get("style_primer", article.primer_id)
        if article.status != ArticleStatus.COMPLETED.value:
            article.final_markdown, article.completed_at = None, None
        repos.get(ArticleRepository).save(article)
    if article.status == ArticleStatus.COMPLETED.value:
        finish_article(repos, article, run.id)


def finish_article(repos: Any, article: Article, run_id: uuid.UUID) -> None:
    """Write the final text of the article's current run, once that run completed."""
    steps = {step.step_id: step for step in repos.run_steps.of_run(run_id)}
    polish, outline = steps.get("polish"), steps.get("outline")
    if polish is None or polish.output is None:
        return
    title = (outline.output or {}).get("title") if outline is not None and outline.output else None
    with repos.transaction():
        article.title = title or article.title or article.topic[:300]
        article.final_markdown = final_markdown(article.title, polish.output.get("text", ""))
        article.offline = any(bool((step.output or {}).get("offline")) for step in steps.values())
        article.status = ArticleStatus.COMPLETED.value
        article.completed_at = utcnow()
        repos.get(ArticleRepository).save(article)


def on_run_completed(event: DomainEvent) -> None:
    """``run.completed``: the article following that run gets its final text (background)."""
    if event.tenant_id is None:
        return
    repos = repositories(event.tenant_id)
    run = repos.runs.get(event.payload.get("runId"))
    if run is None or run.workflow_name != WORKFLOW:
        return
    article = repos.get(ArticleRepository).of_family(run.root_run_id)
    if article is not None and article.current_run_id == run.id:
        finish_article(repos, article, run.id)


def on_run_cancelled(event: DomainEvent) -> None:
    """``run.cancelled``: an article following that run reads as cancelled."""
    if event.tenant_id is None:
        return
    repos = repositories(event.tenant_id)
    run = repos.runs.get(event.payload.get("runId"))
    if run is None or run.workflow_name != WORKFLOW:
        return
    article = repos.get(ArticleRepository).of_family(run.root_run_id)
    if article is not None and article.current_run_id == run.id:
        with repos.transaction():
            article.status = ArticleStatus.CANCELLED.value
            repos.get(ArticleRepository).save(article)


def render_export(article: Article, format_: str, run_id: Any = None) -> dict[str, str]:
    """The article exported (the API's and the page's), recorded in the audit log.

    :raises ConflictError: for Markdown of an article whose run has not finished.
    """
    exported = _exported(article, format_, run_id)
    record_audit("article.export", "article", article.id,
                 metadata={"format": exported["format"], "filename": exported["filename"], "run_id": run_id})
    return exported


def _exported(article: Article, format_: str, run_id: Any = None) -> dict[str, str]:
    service = workflow_runs()
    run = service.get(run_id or article.current_run_id)
    if run.root_run_id != article.root_run_id:
        raise NotFoundError(f"Run {run.id} is not one of this article's runs.", {"runId": str(run.id)})
    if format_ == "yaml":
        return {"format": "yaml", "filename": filename(article, "yaml"),
                "content": as_yaml(pipeline_run(article, service.detail(run)))}
    if run.id != article.current_run_id or not article.final_markdown:
        raise ConflictError("The article is not finished yet: choose a candidate at each step first "
                            "(the YAML export shows where it stands).", {"status": run.status.value})
    # Raw HTML from the topic or the model is text in the file: no renderer runs it.
    content = inert_markdown(article.final_markdown)
    if format_ == "html":
        return {"format": "html", "filename": filename(article, "html"),
                "content": as_html(article.title or article.topic, content)}
    return {"format": "markdown", "filename": filename(article, "md"), "content": content}


def on_run_created(event: DomainEvent) -> None:
    """``run.created``: a branch or update of an article's run (made here or on the core's run
    page) becomes the run the article follows."""
    if event.tenant_id is None or event.payload.get("workflow") != WORKFLOW \
            or event.payload.get("trigger") == "initial":
        return
    repos = repositories(event.tenant_id)
    run = repos.runs.get(event.payload.get("runId"))
    article = repos.get(ArticleRepository).of_family(run.root_run_id) if run is not None else None
    if article is None or article.current_run_id == run.id:
        return
    following = repos.runs.get(article.current_run_id)
    # Events may arrive late: only a run newer than the one followed takes its place.
    if following is None or following.created_at <= run.created_at:
        follow_run(article, run, repos)
