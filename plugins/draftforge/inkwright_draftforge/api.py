"""DraftForge over JSON, under ``/api/draftforge``: projects (seed 003 table 2) with their
settings, their manuscript's chapters and history, and their stats (table 3).

Every change goes through the project service or the manuscript store, and every endpoint
asks ``project_access`` for the seed's permission it needs (read, write, delete,
manage_settings, view_stats). Another tenant's project, like an id that names nothing, is
not found. A chapter write is one commit on the writer's ``base``; a stale base that touches
a file changed since answers 409 ``EDIT_CONFLICT`` with the diff between the two texts.
"""

from __future__ import annotations

import difflib
import logging
from datetime import date
from typing import Any

from flask import url_for

from app.toolkit import (
    ApiBlueprint,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    current_principal,
    current_state,
    repositories,
    welcome_guests,
)

from . import github_links
from .access import is_guest, project_access
from .manuscript_paths import chapter_path, checked_path, title_of
from .manuscript_values import Author, BranchBusy, EditConflict, FileMissing, RefMissing
from .models import Project
from .projects import ProjectService, default_settings, field_error, visible_beyond_the_tenant
from .repositories import ProjectRepository, ProjectStatsRepository
from .repository_store import open_manuscript
from .schemas import (
    ChapterCommitSchema,
    ChapterCreateSchema,
    ChapterDeleteQuerySchema,
    ChapterListSchema,
    ChapterReorderSchema,
    ChapterSaveSchema,
    ChapterTextSchema,
    CommitDetailSchema,
    CommitPageSchema,
    CommitQuerySchema,
    GithubLinkOutSchema,
    GithubLinkSchema,
    HistoryQuerySchema,
    HistorySchema,
    ProjectCreateSchema,
    ProjectPageSchema,
    ProjectQuerySchema,
    ProjectSchema,
    ProjectStatsSchema,
    ProjectUpdateSchema,
    RefQuerySchema,
    SettingsOutSchema,
    SettingsUpdateSchema,
)
from .stats import ProjectStats, count_file, current_streak_on
from .stats_jobs import queue_stats
from .stats_service import STATS_COLUMNS

log = logging.getLogger(__name__)

# A tenant's guests reach it: project_access decides which projects (the shared ones).
api = welcome_guests(ApiBlueprint("draftforge_api", __name__, url_prefix="/api/draftforge",
                                  description="DraftForge projects, their chapters, history and writing stats"))


class EditConflictError(ConflictError):
    code = "EDIT_CONFLICT"


CONFLICT_DOC = ("EDIT_CONFLICT: `base` is stale and a file this write touches changed since; error.details "
                "carry `path`, `headSha` and `diff` (unified, base text against head text)")


class BranchBusyError(ConflictError):
    code = "BRANCH_BUSY"
    retryable = True


# -- Helpers ------------------------------------------------------------------------------------

def _service() -> ProjectService:
    return ProjectService(current_principal(), current_state().clock)


def _project(project_id: str, permission: str = "can_read") -> Project:
    """The caller's project with ``permission``; not found for a bad id, another tenant's, or
    one in the trash (the model has its own ``deleted_at``, which the repository scope does not
    hide, so it is checked here)."""
    repos = repositories()
    project = repos.get(ProjectRepository).get(project_id) or visible_beyond_the_tenant(repos, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFoundError(f"No project with id {project_id} here.", {"id": str(project_id)})
    project_access(project, current_principal(), permission)
    return project


def _author() -> Author:
    principal = current_principal()
    user = principal.user
    if user is None:
        raise ForbiddenError("This credential speaks for nobody who could write a chapter.", {})
    name = "".join(c for c in (user.name or user.email.split("@")[0]) if c not in "<>\n\r\0").strip() or "Writer"
    email = "".join(c for c in (user.email or "") if c not in "<>\n\r\0")
    return Author(name, email)


def _chapter_path(project: Project, path: str) -> str:
    """A chapter named by its repository path, or by its file name alone."""
    return path if "/" in path else f"{project.chapters_directory}/{path}"


def _named_chapter(project: Project, path: str, *, in_chapters: bool = False) -> str:
    """For reading and deleting, where nothing is written: a path that cannot name a file
    (or, ``in_chapters``, a chapter) names none, so it is not found, as an absent chapter is.
    A save, which may create the file, refuses such a path as a field error instead."""
    chapter = _chapter_path(project, path)
    try:
        if in_chapters:
            chapter_path(chapter, project.chapters_directory)
        else:
            checked_path(chapter)
    except ValueError as problem:
        raise NotFoundError(f"No chapter {chapter!r} in this manuscript: {problem}.", {"path": chapter}) from None
    return chapter


def _head(manuscript: Any, ref: str | None) -> Any:
    try:
        return manuscript.log(ref=ref, limit=1)[0]
    except RefMissing:
        raise NotFoundError(f"No branch or commit {ref!r} in this manuscript.", {"ref": ref}) from None


def _conflict(conflict: EditConflict) -> EditConflictError:
    diff = "".join(difflib.unified_diff(
        (conflict.base_text or "").splitlines(keepends=True), (conflict.head_text or "").splitlines(keepends=True),
        fromfile=f"base/{conflict.path}", tofile=f"head/{conflict.path}"))
    return EditConflictError(
        f"{conflict.path} was changed since the version this edit started from; compare and save again.",
        {"path": conflict.path, "headSha": conflict.head_sha, "diff": diff,
         "baseExists": conflict.base_text is not None, "headExists": conflict.head_text is not None})


def _write(project: Project, operation: Any, field: str) -> Any:
    """Run a manuscript write, its errors made the API's."""
    try:
        return operation()
    except EditConflict as conflict:
        raise _conflict(conflict) from None
    except RefMissing as missing:
        raise field_error("base", f"No branch or commit {missing.ref!r} in this manuscript.") from None
    except FileMissing as missing:
        raise NotFoundError(f"No chapter {missing.path!r} in this manuscript.", {"path": missing.path}) from None
    except BranchBusy:
        raise BranchBusyError("The manuscript kept moving (a push?); try again.", {}) from None
    except ValueError as problem:
        raise field_error(field, str(problem)) from None


def _recorded(project: Project, sha: str) -> None:
    """Book a write in the stats: a job brings the row to the new commit (stats_jobs.py)."""
    queue_stats(project, sha, actor_id=current_principal().user_id)


def _now():
    return current_state().clock.now()


def _deep_merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        merged[key] = (_deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict)
                       else value)
    return merged


# -- Projects -----------------------------------------------------------------------------------

@api.route("/projects", methods=["GET"])
@api.arguments(ProjectQuerySchema, location="query")
@api.response(200, ProjectPageSchema)
def list_projects(query: dict[str, Any]):
    """The tenant's projects the caller may read, most recently changed first; filter by ``status``."""
    criteria = [Project.deleted_at.is_(None)]
    if query["status"] is not None:
        criteria.append(Project.status == query["status"])
    principal = current_principal()
    projects = repositories().get(ProjectRepository)
    if is_guest(principal):
        # A guest of the tenant lists only what was shared with them.
        criteria.append(projects.collaborating(principal.user_id))
    items, total = projects.page(
        *criteria, order_by=[Project.updated_at.desc(), Project.id.desc()], limit=query["limit"],
        offset=query["offset"])
    for project in items:
        project_access(project, principal, "can_read")
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}


@api.route("/projects", methods=["POST"])
@api.arguments(ProjectCreateSchema)
@api.response(201, ProjectSchema)
def create_project(body: dict[str, Any]):
    """Create a project with its manuscript repository (rule 1: 100 active on the free tier;
    rule 2: a URL-safe slug, unique among your projects, the trash included)."""
    settings = body.pop("settings", None)
    if settings:
        user = current_principal().user
        settings = _deep_merge(default_settings(getattr(user, "preferences", None)), settings)
    return _service().create(**body, settings=settings)


@api.route("/projects/<project_id>", methods=["GET"])
@api.response(200, ProjectSchema)
def get_project(project_id: str):
    return _project(project_id)


def _changing(project_id: str, permission: str) -> str:
    """Check before the service changes a project: the trash is not found here either."""
    _project(project_id, permission)
    return project_id


@api.route("/projects/<project_id>", methods=["PATCH"])
@api.arguments(ProjectUpdateSchema)
@api.response(200, ProjectSchema)
def update_project(body: dict[str, Any], project_id: str):
    """Change a project's fields (``settings`` merge into what is there and need manage_settings)."""
    if "settings" in body:
        project = _project(project_id, "can_manage_settings")
        body["settings"] = _deep_merge(project.settings or {}, body["settings"])
    else:
        _project(project_id, "can_write")
    return _service().update(project_id, body)


@api.route("/projects/<project_id>", methods=["DELETE"])
@api.response(200, ProjectSchema)
def delete_project(project_id: str):
    """To the trash: hidden at once, restorable for 30 days; the answer is the project as it is now."""
    return _service().delete(_changing(project_id, "can_delete"))


@api.route("/projects/<project_id>/restore", methods=["POST"])
@api.response(200, ProjectSchema)
def restore_project(project_id: str):
    """Take a project out of the trash (within 30 days; an active one counts against rule 1)."""
    return _service().restore(project_id)


def _status_route(suffix: str, status: str, doc: str) -> None:
    def change(project_id: str):
        return _service().set_status(_changing(project_id, "can_manage_settings"), status)

    change.__name__ = f"{suffix}_project"
    change.__doc__ = doc
    api.route(f"/projects/<project_id>/{suffix}", methods=["POST"])(api.response(200, ProjectSchema)(change))


_status_route("archive", "archived", "Archive a project (it no longer counts against rule 1).")
_status_route("complete", "completed", "Mark a project completed.")
_status_route("unarchive", "active", "Make a project active again (counts against rule 1).")


# -- GitHub -------------------------------------------------------------------------------------

@api.route("/projects/<project_id>/github", methods=["PUT"])
@api.arguments(GithubLinkSchema)
@api.response(200, GithubLinkOutSchema)
def link_github(body: dict[str, Any], project_id: str):
    """Link the project to a GitHub repository: the answer holds the webhook's payload URL and a
    new secret, shown this once (linking again replaces it). Deliveries signed with it reach
    ``POST /api/draftforge/github/webhook``."""
    project, secret = github_links.link(_service(), _changing(project_id, "can_manage_settings"),
                                        repo_id=body["repo_id"], repo_name=body["repo_name"],
                                        repo_url=body["repo_url"], webhook_id=body["webhook_id"])
    return {"project": project, "webhook_secret": secret,
            "webhook_url": url_for("draftforge_github.github_delivery", _external=True)}


@api.route("/projects/<project_id>/github", methods=["DELETE"])
@api.response(200, ProjectSchema)
def unlink_github(project_id: str):
    """Forget the project's GitHub link; deliveries for that repository are refused from now on."""
    return github_links.unlink(_service(), _changing(project_id, "can_manage_settings"))


# -- Settings -----------------------------------------------------------------------------------

@api.route("/projects/<project_id>/settings", methods=["GET"])
@api.response(200, SettingsOutSchema)
def get_settings(project_id: str):
    """The seed's settings: per agent enabled, model, trigger, context_window, schedule; compilation;
    github_actions."""
    return {"settings": _project(project_id, "can_read").settings}


@api.route("/projects/<project_id>/settings", methods=["PATCH"])
@api.arguments(SettingsUpdateSchema)
@api.response(200, SettingsOutSchema)
def update_settings(body: dict[str, Any], project_id: str):
    """Change some settings; what is not sent stays as it was."""
    project = _project(project_id, "can_manage_settings")
    updated = _service().update(project_id, {"settings": _deep_merge(project.settings or {}, body)})
    return {"settings": updated.settings}


# -- Chapters -----------------------------------------------------------------------------------

@api.route("/projects/<project_id>/chapters", methods=["GET"])
@api.arguments(RefQuerySchema, location="query")
@api.response(200, ChapterListSchema)
def list_chapters(query: dict[str, Any], project_id: str):
    """The chapters in reading order, at the head or at ``ref``, with their counts."""
    project = _project(project_id)
    manuscript = open_manuscript(project)
    head = _head(manuscript, query["ref"])
    items = []
    for chapter in manuscript.chapters(head.sha):
        counts = count_file(chapter.text)
        items.append({"path": chapter.path, "title": chapter.title, "index": chapter.index,
                      "word_count": counts.words, "character_count": counts.characters})
    return {"sha": head.sha, "items": items}


@api.route("/projects/<project_id>/chapters", methods=["POST"])
@api.arguments(ChapterCreateSchema)
@api.response(201, ChapterCommitSchema)
@api.alt_response(409, description=CONFLICT_DOC)
def add_chapter(body: dict[str, Any], project_id: str):
    """Add a chapter after the last one, as ``NN-slug.md``; the answer names the commit and the path."""
    project = _project(project_id, "can_write")
    manuscript = open_manuscript(project)
    author = _author()
    made = _write(project, lambda: manuscript.add_chapter(body["title"], body["text"], author, body["base"],
                                                          now=_now()), "title")
    _recorded(project, made.sha)
    return {"sha": made.sha, "path": made.path}


@api.route("/projects/<project_id>/chapters/reorder", methods=["POST"])
@api.arguments(ChapterReorderSchema)
@api.response(200, ChapterCommitSchema)
@api.alt_response(409, description=CONFLICT_DOC)
def reorder_chapters(body: dict[str, Any], project_id: str):
    """Renumber the chapters to read in the order given (every chapter once), in one commit."""
    project = _project(project_id, "can_write")
    manuscript = open_manuscript(project)
    author = _author()
    paths = [_chapter_path(project, path) for path in body["paths"]]
    sha = _write(project, lambda: manuscript.reorder_chapters(paths, author, body["base"], now=_now()), "paths")
    _recorded(project, sha)
    return {"sha": sha, "path": None}


@api.route("/projects/<project_id>/chapters/<path:path>", methods=["GET"])
@api.arguments(RefQuerySchema, location="query")
@api.response(200, ChapterTextSchema)
def get_chapter(query: dict[str, Any], project_id: str, path: str):
    """One chapter's text, at the head or at ``ref``."""
    project = _project(project_id)
    manuscript = open_manuscript(project)
    head = _head(manuscript, query["ref"])
    chapter = _named_chapter(project, path)
    text = _write(project, lambda: manuscript.read(chapter, head.sha), "path")
    counts = count_file(text)
    return {"sha": head.sha, "path": chapter, "title": title_of(chapter, text), "text": text,
            "word_count": counts.words, "character_count": counts.characters}


@api.route("/projects/<project_id>/chapters/<path:path>", methods=["PUT"])
@api.arguments(ChapterSaveSchema)
@api.response(200, ChapterCommitSchema)
@api.alt_response(409, description=CONFLICT_DOC)
def save_chapter(body: dict[str, Any], project_id: str, path: str):
    """Save a chapter's text on ``base``; with ``title``, rename it too (its heading and file name)."""
    project = _project(project_id, "can_write")
    manuscript = open_manuscript(project)
    author = _author()
    chapter = _chapter_path(project, path)
    sha = _write(project, lambda: manuscript.save_chapter(chapter, body["text"], author, body["base"], now=_now()),
                 "path")
    _recorded(project, sha)
    if body.get("title"):
        made = _write(project, lambda: manuscript.rename_chapter(chapter, body["title"], author, sha, now=_now()),
                      "title")
        sha, chapter = made.sha, made.path
        _recorded(project, sha)
    return {"sha": sha, "path": chapter}


@api.route("/projects/<project_id>/chapters/<path:path>", methods=["DELETE"])
@api.arguments(ChapterDeleteQuerySchema, location="query")
@api.response(200, ChapterCommitSchema)
@api.alt_response(409, description=CONFLICT_DOC)
def delete_chapter(query: dict[str, Any], project_id: str, path: str):
    """Remove a chapter (``?base=`` the commit the writer saw); the others keep their numbers."""
    project = _project(project_id, "can_write")
    manuscript = open_manuscript(project)
    author = _author()
    chapter = _named_chapter(project, path, in_chapters=True)
    sha = _write(project, lambda: manuscript.delete_chapter(chapter, author, query["base"], now=_now()), "path")
    _recorded(project, sha)
    return {"sha": sha, "path": chapter}


# -- History ------------------------------------------------------------------------------------

@api.route("/projects/<project_id>/commits", methods=["GET"])
@api.arguments(CommitQuerySchema, location="query")
@api.response(200, CommitPageSchema)
def list_commits(query: dict[str, Any], project_id: str):
    """The manuscript's commits, newest first (``path``: only those changing it)."""
    project = _project(project_id)
    manuscript = open_manuscript(project)
    try:
        found = manuscript.log(ref=query["ref"], path=query["path"], limit=query["limit"] + 1,
                               offset=query["offset"])
    except RefMissing:
        raise NotFoundError(f"No branch or commit {query['ref']!r} in this manuscript.", {"ref": query["ref"]}) \
            from None
    except ValueError as problem:
        raise field_error("query.path", str(problem)) from None
    return {"items": found[:query["limit"]], "limit": query["limit"], "offset": query["offset"],
            "has_more": len(found) > query["limit"]}


@api.route("/projects/<project_id>/commits/<sha>", methods=["GET"])
@api.response(200, CommitDetailSchema)
def get_commit(project_id: str, sha: str):
    """One commit and what it changed, file by file, against its first parent."""
    project = _project(project_id)
    manuscript = open_manuscript(project)
    if len(sha) > 255:
        raise NotFoundError("No such commit in this manuscript.", {"sha": sha[:64]})
    info = _head(manuscript, sha)
    shown = {key: getattr(info, key) for key in ("sha", "parents", "author_name", "author_email", "message", "time",
                                                  "changed_paths")}
    return {**shown, "files": manuscript.diff(info.sha)}


# -- Stats --------------------------------------------------------------------------------------

def _stats(project_id: str) -> tuple[Project, Any]:
    project = _project(project_id, "can_view_stats")
    row = repositories().get(ProjectStatsRepository).of_project(project.id)
    return project, row


def _today() -> date:
    return _now().date()


@api.route("/projects/<project_id>/stats", methods=["GET"])
@api.response(200, ProjectStatsSchema)
def get_stats(project_id: str):
    """The seed's project_stats: totals, the git tracking, streaks and the daily history (newest first)."""
    project, row = _stats(project_id)
    stats = ProjectStats.from_json({column: getattr(row, column) for column in STATS_COLUMNS} if row else {})
    shown = stats.to_json()
    shown.update(project_id=project.id, last_commit_at=stats.last_commit_at, last_write_date=stats.last_write_date,
                 current_streak_days=current_streak_on(stats, _today()),
                 target_word_count=project.target_word_count,
                 stats_history=[day.__dict__ for day in reversed(stats.stats_history)],
                 updated_at=row.updated_at if row else None)
    return shown


@api.route("/projects/<project_id>/history", methods=["GET"])
@api.arguments(HistoryQuerySchema, location="query")
@api.response(200, HistorySchema)
def get_history(query: dict[str, Any], project_id: str):
    """The stats history alone: one entry per day with a commit, newest first."""
    _project_row, row = _stats(project_id)
    days = ProjectStats.from_json({"stats_history": row.stats_history if row else []}).stats_history
    newest = list(reversed(days))
    page = newest[query["offset"]:query["offset"] + query["limit"]]
    return {"items": [day.__dict__ for day in page], "total": len(newest), "limit": query["limit"],
            "offset": query["offset"]}

