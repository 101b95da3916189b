"""DraftForge's browser pages: projects, their chapters (read by line, edited, added), history
and diffs, writing statistics, agent settings, and review agents' runs and reports.

Every change goes through the project service or the manuscript's own writes, with
``project_access`` deciding who may do it; a project of another tenant is not found (404),
one the caller may read but not change answers 403 to the change.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from app.toolkit import (
    AgentRunRepository,
    AgentRunStatus,
    AppError,
    ForbiddenError,
    IllegalTransitionError,
    NotFoundError,
    cancel_agent_run,
    current_principal,
    current_state,
    ensure_username,
    repositories,
    start_agent_run,
    welcome_guests,
)

from .access import is_guest, may
from .collaborators import InvitationAnswers
from .forms import (
    AgentRunForm,
    ChapterEditForm,
    ConfirmForm,
    NewChapterForm,
    ProjectForm,
)
from .manuscript_history import unified
from .manuscript_values import Author, BranchBusy, EditConflict, FileMissing, Put, RefMissing
from .models import Project
from .projects import AGENT_TYPES, ProjectService
from .repositories import ProjectRepository, ProjectStatsRepository
from .repository_store import open_manuscript
from .stats import CommitRecord, ProjectStats, chapters_in, count_file, count_words, current_streak_on, rebuild
from .stats_chart import words_over_time_svg
from .stats_jobs import queue_stats
from .stats_service import STATS_COLUMNS
from .subjects import KIND

log = logging.getLogger(__name__)

# static/ holds the pages' stylesheet (the Content-Security-Policy allows no inline style).
# A tenant's guests (let in for a project shared with them) reach these pages too:
# find_project's project_access decides which projects, and index() lists only theirs.
pages = welcome_guests(Blueprint("draftforge", __name__, url_prefix="/draftforge", static_folder="static",
                                 static_url_path="/static"))

SEVERITIES = ("error", "warning", "info")
UNFINISHED = (AgentRunStatus.QUEUED, AgentRunStatus.RUNNING)
COMMITS_PER_PAGE = 30
#: The stats page replays at most this many commits when the stored stats lag the branch.
MOST_REPLAYED_COMMITS = 5000
#: The service's field names (the JSON API's) → the forms' fields.
FIELD_ALIASES = {"projectType": "project_type", "targetWordCount": "target_word_count"}
# pygal writes a <style> inside the SVG and a style attribute on its tooltip group; the policy
# refuses both, so they are taken out and static/draftforge.css styles every chart instead.
SVG_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL)
SVG_STYLE_ATTRIBUTE = re.compile(r'\sstyle="[^"]*"')


# Finding things ---------------------------------------------------------------------------
def service() -> ProjectService:
    return ProjectService(current_principal(), current_state().clock)


def find_project(project_id: str, permission: str = "can_read") -> Project:
    """The project, if the caller may ``permission`` it: 404 when it is not theirs to see, 403
    when they may see it but not do this."""
    try:
        return service().get(project_id, permission)
    except NotFoundError:
        abort(404)
    except ForbiddenError:
        abort(403)


def allowed(project: Project) -> dict[str, bool]:
    """What the caller may do, for the templates to show only the buttons that work."""
    principal = current_principal()
    return {name: may(project, principal, name) for name in ("can_write", "can_run_agents", "can_view_stats",
                                                             "can_manage_settings")}


def author() -> Author:
    principal = current_principal()
    user = principal.user
    repos = repositories()
    with repos.transaction():
        username = ensure_username(repos, principal.user_id)
    return Author(user.name or username, user.email)


def clone_command(project: Project) -> str:
    repos = repositories()
    with repos.transaction():
        username = ensure_username(repos, project.user_id)
    return f"git clone {current_app.config['EXTERNAL_URL'].rstrip('/')}/git/{username}/{project.slug}.git"


def place_error(form: Any, error: AppError) -> None:
    """Put a service's field errors beside the form's fields; anything else above it."""
    fields = error.details.get("fields", {}) if isinstance(error.details, dict) else {}
    placed = False
    for name, messages in fields.items():
        target = form
        for part in FIELD_ALIASES.get(name, name).removeprefix("settings.agents.").split("."):
            target = getattr(target, part, None) if target is not None else None
        if target is not None and hasattr(target, "errors") and not hasattr(target, "form"):
            target.errors = [*target.errors, *(messages if isinstance(messages, list) else [messages])]
            placed = True
    if not placed:
        flash(error.message, "error")


def file_lines(text: str) -> list[str]:
    """A file's lines as git numbers them: split at ``\\n`` only, a final newline ending the
    last line rather than starting an empty one."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines or [""]


def diff_lines(text: str) -> list[tuple[str, str]]:
    """A unified diff's lines, each with the class that colours it."""
    shown = []
    for line in text.splitlines():
        kind = ("file" if line.startswith(("+++", "---")) else "add" if line.startswith("+")
                else "del" if line.startswith("-") else "hunk" if line.startswith("@@") else "same")
        shown.append((kind, line))
    return shown


def inline_svg(svg: str) -> Markup:
    """pygal's chart, ready for a page under the studio's policy (see ``SVG_STYLE``)."""
    return Markup(SVG_STYLE_ATTRIBUTE.sub("", SVG_STYLE.sub("", svg)))


def project_stats(project: Project) -> ProjectStats:
    """The project's statistics at the head of its branch: the stored row when it is up to
    date, else replayed from the history (reading, never writing: the stored row is the
    statistics updater's)."""
    manuscript = open_manuscript(project)
    head = manuscript.head()
    row = repositories().get(ProjectStatsRepository).of_project(project.id)
    if row is not None and row.last_commit_sha and row.last_commit_sha == head:
        return ProjectStats.from_json({column: getattr(row, column) for column in STATS_COLUMNS})
    is_chapter = chapters_in(project.chapters_directory)
    records = []
    for commit in reversed(manuscript.log(head, limit=MOST_REPLAYED_COMMITS)):
        changed = {}
        for path in commit.changed_paths:
            if is_chapter(path):
                try:
                    changed[path] = count_file(manuscript.read(path, commit.sha))
                except FileMissing:
                    changed[path] = None
        records.append(CommitRecord(sha=commit.sha, committed_at=commit.time, changed=changed))
    return rebuild(records, timezone=_timezone(), is_chapter=is_chapter)


def record_saved(project: Project, sha: str) -> None:
    """Book a save in the stats: a job brings the row to the new commit (stats_jobs.py)."""
    queue_stats(project, sha, actor_id=current_principal().user_id, timezone=_timezone())


def _timezone() -> str:
    preferences = getattr(current_principal().user, "preferences", None) or {}
    zone = preferences.get("timezone") if isinstance(preferences, dict) else None
    return zone if isinstance(zone, str) and zone else "UTC"


def project_runs(project: Project, limit: int = 50, offset: int = 0) -> tuple[list[Any], int]:
    return repositories().get(AgentRunRepository).newest(subject_kind=KIND, subject_id=project.id, limit=limit,
                                                         offset=offset)


def find_run(project: Project, run_id: str) -> Any:
    run = repositories().get(AgentRunRepository).get(run_id)
    if run is None or run.subject_kind != KIND or run.project_id != project.id:
        abort(404)
    return run


def run_ref(run: Any) -> str | None:
    """The commit a run reviewed: the one that triggered it, else the head it read."""
    return run.trigger_ref or (run.context or {}).get("ref")


def installed_agents() -> list[str]:
    """Installed review agents, DraftForge's own first in the seed's order."""
    names = sorted(current_state().registry.agents)
    return sorted(names, key=lambda name: (AGENT_TYPES.index(name) if name in AGENT_TYPES else len(AGENT_TYPES), name))


def render_page(template: str, project: Project, status: int = 200, **values: Any):
    return render_template(f"draftforge/{template}", project=project, can=allowed(project), **values), status


# Projects ---------------------------------------------------------------------------------
@pages.route("/")
@login_required
def index():
    principal = current_principal()
    found = repositories().get(ProjectRepository)
    guest = is_guest(principal)
    # A guest of the tenant lists only what was shared with them (access.py lets them no further).
    projects, total = found.shared_with(principal.user_id, limit=100) if guest else found.newest(limit=100)
    shared = InvitationAnswers(principal, current_state().clock).shared_with_me()
    return render_template("draftforge/projects.html", projects=projects, total=total, guest=guest, shared=shared,
                           confirm_form=ConfirmForm(formdata=None))


@pages.route("/new", methods=["GET", "POST"])
@login_required
def new_project():
    form = ProjectForm()
    status = 200
    if form.validate_on_submit():
        try:
            project = service().create(name=form.name.data, slug=form.slug.data, project_type=form.project_type.data,
                                       description=form.description.data or None, genre=form.genre.data or None,
                                       target_word_count=form.target_word_count.data)
        except AppError as error:
            place_error(form, error)
            status = error.status_code
        else:
            flash(f"Project “{project.name}” created: add its first chapter, or clone it and push.", "success")
            return redirect(url_for("draftforge.project", project_id=project.id))
    elif form.is_submitted():
        status = 400
    return render_template("draftforge/project_new.html", form=form), status


@pages.route("/<project_id>")
@login_required
def project(project_id: str):
    found = find_project(project_id)
    manuscript = open_manuscript(found)
    chapters = [(chapter, count_words(chapter.text)) for chapter in manuscript.chapters()]
    runs, _ = project_runs(found, limit=5)
    stats = project_stats(found) if may(found, current_principal(), "can_view_stats") else None
    return render_page("project.html", found, chapters=chapters, runs=runs, stats=stats,
                       streak=current_streak_on(stats, date.today()) if stats else 0,
                       clone=clone_command(found), head=manuscript.head())


# Chapters ---------------------------------------------------------------------------------
@pages.route("/<project_id>/files/<path:path>")
@login_required
def chapter(project_id: str, path: str):
    found = find_project(project_id)
    manuscript = open_manuscript(found)
    ref = request.args.get("ref") or None
    try:
        text = manuscript.read(path, ref)
    except (FileMissing, RefMissing, ValueError):
        abort(404)
    return render_page("chapter.html", found, path=path, ref=ref, lines=file_lines(text),
                       words=count_words(text), head=manuscript.head())


@pages.route("/<project_id>/edit/<path:path>", methods=["GET", "POST"])
@login_required
def edit_chapter(project_id: str, path: str):
    found = find_project(project_id, "can_write")
    manuscript = open_manuscript(found)
    form = ChapterEditForm()
    if not form.is_submitted():
        try:
            form.text.data = manuscript.read(path)
        except (FileMissing, ValueError):
            abort(404)
        form.base.data = manuscript.head()
    status, conflict = 200, None
    if form.validate_on_submit():
        text = (form.text.data or "").replace("\r\n", "\n")
        message = (form.message.data or "").strip() or f"Edit {path.rsplit('/', 1)[-1]}"
        try:
            sha = manuscript.commit_changes([Put(path, text)], author(), message, base=form.base.data)
        except EditConflict as clash:
            # Shown both ways; the form now builds on the head, so saving again keeps this text.
            conflict = {"since": diff_lines(unified(clash.base_text or "", clash.head_text or "", path, path,
                                                    False, False)[0]),
                        "yours": diff_lines(unified(clash.head_text or "", text, path, path, False, False)[0])}
            form.base.data = clash.head_sha
            status = 409
        except (BranchBusy, RefMissing, ValueError) as error:
            flash(f"Not saved: {error}", "error")
            status = 409 if isinstance(error, BranchBusy) else 400
        else:
            record_saved(found, sha)
            flash("Saved.", "success")
            return redirect(url_for("draftforge.chapter", project_id=found.id, path=path))
    elif form.is_submitted():
        status = 400
    return render_page("chapter_edit.html", found, status, form=form, path=path, conflict=conflict)


@pages.route("/<project_id>/chapters/new", methods=["GET", "POST"])
@login_required
def new_chapter(project_id: str):
    found = find_project(project_id, "can_write")
    manuscript = open_manuscript(found)
    form = NewChapterForm()
    status = 200
    if form.validate_on_submit():
        try:
            made = manuscript.add_chapter(form.title.data, (form.text.data or "").replace("\r\n", "\n"), author(),
                                          base=None)
        except ValueError as error:
            form.title.errors = [*form.title.errors, str(error)]
            status = 400
        except BranchBusy as error:
            flash(f"Not saved: {error}", "error")
            status = 409
        else:
            record_saved(found, made.sha)
            flash("Chapter added.", "success")
            return redirect(url_for("draftforge.chapter", project_id=found.id, path=made.path))
    elif form.is_submitted():
        status = 400
    return render_page("chapter_new.html", found, status, form=form)


# History ----------------------------------------------------------------------------------
@pages.route("/<project_id>/history")
@login_required
def history(project_id: str):
    found = find_project(project_id)
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and int(number) >= 1 else 1
    path = request.args.get("path") or None
    try:
        commits = open_manuscript(found).log(path=path, limit=COMMITS_PER_PAGE + 1,
                                             offset=(number - 1) * COMMITS_PER_PAGE)
    except (RefMissing, ValueError):
        abort(404)
    return render_page("history.html", found, commits=commits[:COMMITS_PER_PAGE], page=number, path=path,
                       more=len(commits) > COMMITS_PER_PAGE)


@pages.route("/<project_id>/commits/<sha>")
@login_required
def commit(project_id: str, sha: str):
    found = find_project(project_id)
    manuscript = open_manuscript(found)
    if not re.fullmatch(r"[0-9a-f]{4,40}", sha):
        abort(404)
    try:
        info = manuscript.log(sha, limit=1)[0]
        diffs = manuscript.diff(info.sha)
    except (RefMissing, ValueError, KeyError, IndexError):
        abort(404)
    return render_page("commit.html", found, commit=info,
                       diffs=[(diff, diff_lines(diff.unified_diff)) for diff in diffs])


# Statistics -------------------------------------------------------------------------------
@pages.route("/<project_id>/stats")
@login_required
def stats(project_id: str):
    found = find_project(project_id, "can_view_stats")
    numbers = project_stats(found)
    chart = inline_svg(words_over_time_svg(numbers.stats_history, found.target_word_count))
    return render_page("stats.html", found, stats=numbers, chart=chart,
                       streak=current_streak_on(numbers, date.today()),
                       days=list(reversed(numbers.stats_history))[:60])


# Agent runs -------------------------------------------------------------------------------
def run_form() -> AgentRunForm:
    form = AgentRunForm()
    names = installed_agents()
    form.agent.choices = [SelectChoice(value=name, label=name) for name in names]
    if not form.is_submitted() and "style" in names:
        form.agent.data = "style"
    return form


@pages.route("/<project_id>/runs", methods=["GET", "POST"])
@login_required
def runs(project_id: str):
    found = find_project(project_id)
    form = run_form()
    status = 200
    if form.is_submitted() and not may(found, current_principal(), "can_run_agents"):
        abort(403)
    if form.validate_on_submit():
        try:
            started = start_agent_run(KIND, found.id, form.agent.data)
        except AppError as error:
            fields = error.details.get("fields", {}) if isinstance(error.details, dict) else {}
            if "agentType" in fields:
                form.agent.errors = [*form.agent.errors, *fields["agentType"]]
            else:
                flash(error.message, "error")
            status = error.status_code
        else:
            flash(f"The {started.agent_type} agent is queued.", "success")
            return redirect(url_for("draftforge.run", project_id=found.id, run_id=started.id))
    elif form.is_submitted():
        status = 400
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and int(number) >= 1 else 1
    listed, total = project_runs(found, limit=50, offset=(number - 1) * 50)
    return render_page("runs.html", found, status, form=form, runs=listed, total=total, page=number,
                       more=number * 50 < total, cancel_form=ConfirmForm(), unfinished=UNFINISHED)


@pages.route("/<project_id>/runs/<run_id>")
@login_required
def run(project_id: str, run_id: str):
    found = find_project(project_id)
    shown = find_run(found, run_id)
    severity = request.args.get("severity")
    severity = severity if severity in SEVERITIES else None
    issues = list((shown.results or {}).get("issues") or [])
    breakdown = {name: 0 for name in SEVERITIES}
    breakdown.update(shown.severity_breakdown or {})
    kept = [issue for issue in issues if severity is None or issue.get("severity") == severity]
    ref = run_ref(shown)
    return render_page("run.html", found, run=shown, severity=severity, severities=SEVERITIES,
                       breakdown=breakdown, groups=issue_groups(found, kept, ref), ref=ref, shown_count=len(kept),
                       cancel_form=ConfirmForm(), unfinished=shown.status in UNFINISHED)


def issue_groups(project: Project, issues: list[dict[str, Any]], ref: str | None) -> list[dict[str, Any]]:
    """Issues by chapter, in reading order, then by line; those about no file come last."""
    by_file: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for issue in issues:
        by_file[issue.get("file")].append(issue)
    try:
        chapters = {chapter.path: chapter for chapter in open_manuscript(project).chapters(ref)}
    except (RefMissing, ValueError):
        chapters = {}
    order = list(chapters)

    def place(path: str | None) -> tuple[int, int, str]:
        if path is None:
            return (2, 0, "")
        return (0, order.index(path), path) if path in chapters else (1, 0, path)

    return [{"file": path, "title": chapters[path].title if path in chapters else path,
             "issues": sorted(found, key=lambda issue: (issue.get("line") or 0, issue.get("id") or ""))}
            for path, found in sorted(by_file.items(), key=lambda item: place(item[0]))]


@pages.route("/<project_id>/runs/<run_id>/cancel", methods=["POST"])
@login_required
def cancel_run(project_id: str, run_id: str):
    found = find_project(project_id, "can_run_agents")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    shown = find_run(found, run_id)  # the project's own run, or 404
    try:
        # Its job leaves the queue; a running agent stops at its next check.
        cancel_agent_run(shown.id)
    except IllegalTransitionError:
        flash("This run has already finished.", "error")
    else:
        flash("Run canceled.", "success")
    return redirect(url_for("draftforge.run", project_id=found.id, run_id=run_id))


# The settings page and the GitHub link, and the People tab, are modules of their own on this
# blueprint (web_people.py also holds the invitee's pages).
from . import web_people, web_settings  # noqa: E402,F401
