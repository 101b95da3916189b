"""The stories' browser pages: the list, the StoryRequest form and the story reader."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError
from wtforms import IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from app.toolkit import (
    AppError,
    NotFoundError,
    SchemaValidationError,
    current_principal,
    inert_markdown,
    record_audit,
    repositories,
)

from .generation import StoryGeneration
from .models import StoryStatus
from .repositories import StoryRepository
from .schemas import StoryRequestSchema

# static/ holds the story page's script (served at /stories/static/…): a file, since the
# Content-Security-Policy runs no inline script (app/security_headers.py).
pages = Blueprint("stories", __name__, url_prefix="/stories", static_folder="static")


class StoryRequestForm(FlaskForm):
    """Seed 000's StoryRequest as a form; the bounds are the workflow's."""

    story_instructions = TextAreaField(
        "What should the story be about?", validators=[DataRequired("Tell us what the story is about."),
                                                       Length(max=5000)],
        description="Its premise, setting and tone, and anything it must contain.")
    n_chapters = IntegerField("Chapters", default=3, validators=[
        InputRequired("Say how many chapters."), NumberRange(1, 20, "Between 1 and 20 chapters.")])
    l_chapter = IntegerField("Words per chapter", default=300, validators=[
        InputRequired("Say how long a chapter is."), NumberRange(50, 5000, "Between 50 and 5,000 words.")])
    primary_characters = StringField("Main characters", validators=[Optional(), Length(max=500)],
                                     description="Names, separated by commas.")
    secondary_characters = StringField("Supporting characters", validators=[Optional(), Length(max=500)],
                                       description="Names, separated by commas.")
    model = StringField("Model", validators=[Optional(), Length(max=250)],
                        description="provider:model for every step, e.g. openai:gpt-4o-mini; empty: your "
                                    "default models.")
    outline_model = StringField("Planning model", validators=[Optional(), Length(max=250)],
                                description="Plans the outline; empty: the model above.")
    chapter_model = StringField("Writing model", validators=[Optional(), Length(max=250)],
                                description="Writes the chapters; empty: the model above.")
    submit = SubmitField("Generate the story")


class CancelForm(FlaskForm):
    submit = SubmitField("Cancel generation")


class DeleteForm(FlaskForm):
    submit = SubmitField("Delete the story")


def as_markdown(story: Any) -> str:
    """The story as one Markdown file: its title, then each chapter under its heading; raw
    HTML the model or the request wrote is escaped, so no renderer runs it."""
    parts = [f"# {story.title}"]
    for chapter in story.chapters:
        parts.append(f"## Chapter {chapter.order}: {chapter.title}\n\n{chapter.content.strip()}")
    return inert_markdown("\n\n".join(parts) + "\n")


def export_name(story: Any) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", story.title.lower()).strip("-")[:60] or "story"
    return f"{stem}.md"


def run_page_url(run_id: Any) -> str | None:
    """The core's page of a run, where the studio has one."""
    try:
        return url_for("studio.run_page", run_id=run_id)
    except BuildError:
        return None


def show_problem(form: StoryRequestForm, error: AppError) -> str:
    """Put an error's field problems beside the fields; return what is left to say at the top."""
    for key, messages in ((error.details or {}).get("fields") or {}).items():
        name = key.removeprefix("inputs.")
        field = getattr(form, name, None)
        if name in ("outline_model", "chapter_model") and not (field is not None and field.data):
            field = form.model  # the step's model came from the field for every step
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *(m for m in messages if m not in field.errors)]
    return error.message


@pages.route("/")
@login_required
def index():
    current_principal().require("stories", "read")
    found, total = repositories().get(StoryRepository).search(limit=100)
    return render_template("stories/index.html", stories=found, total=total)


@pages.route("/new", methods=["GET", "POST"])
@login_required
def new():
    principal = current_principal()
    principal.require("stories", "read")
    form = StoryRequestForm()
    problem = None
    if form.validate_on_submit():
        try:
            request = StoryRequestSchema().load({
                "n_chapters": form.n_chapters.data, "story_instructions": form.story_instructions.data,
                "primary_characters": form.primary_characters.data or "",
                "secondary_characters": form.secondary_characters.data or "", "l_chapter": form.l_chapter.data,
                "model": (form.model.data or "").strip() or None,
                "outline_model": (form.outline_model.data or "").strip() or None,
                "chapter_model": (form.chapter_model.data or "").strip() or None})
        except SchemaValidationError as invalid:
            left = []
            for name, messages in invalid.messages.items():
                field = getattr(form, name, None)
                if field is not None and hasattr(field, "errors"):
                    field.errors = [*field.errors, *messages]
                else:
                    left.extend(messages if isinstance(messages, list) else [str(messages)])
            return render_template("stories/new.html", form=form, problem=" ".join(left) or None), 400
        try:
            story, _run = StoryGeneration(repositories()).start(request)
        except AppError as error:
            problem = show_problem(form, error)
            return render_template("stories/new.html", form=form, problem=problem), error.status_code
        return redirect(url_for("stories.show", story_id=story.id))
    status = 400 if form.is_submitted() else 200
    return render_template("stories/new.html", form=form, problem=problem), status


@pages.route("/<story_id>")
@login_required
def show(story_id: str):
    current_principal().require("stories", "read")
    story = repositories().get(StoryRepository).get(story_id)
    if story is None:
        abort(404)
    progress = None
    if story.status == StoryStatus.GENERATING and story.run_id is not None:
        try:
            progress = StoryGeneration(repositories()).status(story.run_id)
        except NotFoundError:
            progress = None
    return render_template("stories/show.html", story=story, progress=progress, cancel_form=CancelForm(),
                           delete_form=DeleteForm(), run_url=run_page_url(story.run_id) if story.run_id else None)


def readable_story(story_id: str) -> Any:
    current_principal().require("stories", "read")
    story = repositories().get(StoryRepository).get(story_id)
    if story is None:
        abort(404)
    return story


@pages.route("/<story_id>/chapters/<int:number>")
@login_required
def chapter(story_id: str, number: int):
    """One chapter a page, with the previous and next ones a click away."""
    story = readable_story(story_id)
    by_order = {chapter.order: chapter for chapter in story.chapters}
    if number not in by_order:
        abort(404)
    orders = sorted(by_order)
    at = orders.index(number)
    return render_template("stories/chapter.html", story=story, chapter=by_order[number],
                           previous=by_order[orders[at - 1]] if at > 0 else None,
                           following=by_order[orders[at + 1]] if at + 1 < len(orders) else None)


@pages.route("/<story_id>/export.md")
@login_required
def export(story_id: str):
    story = readable_story(story_id)
    if not story.chapters:
        flash("The story has no chapters to export yet.", "info")
        return redirect(url_for("stories.show", story_id=story.id))
    record_audit("story.export", "story", story.id, metadata={"format": "markdown", "filename": export_name(story)})
    return Response(as_markdown(story), mimetype="text/markdown", headers={
        "Content-Disposition": f'attachment; filename="{export_name(story)}"',
        "Content-Type": "text/markdown; charset=utf-8"})


@pages.route("/<story_id>/delete", methods=["POST"])
@login_required
def delete(story_id: str):
    """Delete the story (soft, as the API's DELETE); a generation under way is cancelled first."""
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400)
    current_principal().require("stories", "delete")
    story = readable_story(story_id)
    StoryGeneration(repositories()).delete(story)
    flash(f"“{story.title}” is deleted.", "success")
    return redirect(url_for("stories.index"))


@pages.route("/<story_id>/cancel", methods=["POST"])
@login_required
def cancel(story_id: str):
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    story = repositories().get(StoryRepository).get(story_id)
    if story is None:
        abort(404)
    if story.status != StoryStatus.GENERATING or story.run_id is None:
        flash("This story is not being generated.", "info")
    else:
        try:
            StoryGeneration(repositories()).cancel(story.run_id)
        except AppError as error:
            flash(error.message, "error")
        else:
            flash("Generation cancelled.", "success")
    return redirect(url_for("stories.show", story_id=story_id))
