"""WriteIt's browser pages: articles (list, new, read, branch, export) and style primers."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from app.toolkit import AppError, current_principal, repositories, run_progress, workflow_runs

from .articles import (
    STEPS,
    branch_article,
    failure_of,
    find_article,
    preferred_models,
    preferred_primer,
    render_export,
    start_article,
    with_live_status,
)
from .export import FORMATS
from .forms import ArticleForm, BranchForm, ConfirmForm, PrimerForm
from .history import branch_tree
from .models import ArticleStatus
from .primers import PrimerLibrary
from .repositories import ArticleRepository

# static/ holds the article page's script, served at /articles/static/… (a file: the
# Content-Security-Policy runs no inline script).
pages = Blueprint("writeit", __name__, static_folder="static", static_url_path="/articles/static")
MEDIA_TYPES = {"markdown": ("text/markdown; charset=utf-8", "md"), "html": ("text/html; charset=utf-8", "html"),
               "yaml": ("application/yaml; charset=utf-8", "yaml")}


def place_error(form: Any, error: AppError) -> None:
    """Put a service's field errors beside the form's fields; anything else above it."""
    fields = error.details.get("fields", {}) if isinstance(error.details, dict) else {}
    aliases = {"primerId": "primer_id", "primer_id": "primer_id", "inputs.style_primer": "primer_id",
               **{f"models.{step}": f"{step}_model" for step in STEPS}}
    placed = False
    for name, messages in fields.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None:
            field.errors = [*field.errors, *(messages if isinstance(messages, list) else [messages])]
            placed = True
    if not placed:
        flash(error.message, "error")


@pages.route("/articles")
@login_required
def index():
    articles, total = repositories().get(ArticleRepository).newest(100)
    return render_template("writeit/articles.html", articles=with_live_status(articles), total=total)


@pages.route("/articles/new", methods=["GET", "POST"])
@login_required
def new():
    form = ArticleForm()
    library = PrimerLibrary(repositories())
    form.primer_id.choices = [SelectChoice(value=p.primer_id, label=p.name) for p in library.all()]
    if not form.is_submitted():
        form.primer_id.data = preferred_primer()
        for step, model in preferred_models().items():
            getattr(form, f"{step}_model").data = model
    status = 200
    if form.validate_on_submit():
        try:
            article = start_article(form.topic.data, form.audience.data, form.primer_id.data,
                                    {step: getattr(form, f"{step}_model").data for step in STEPS})
        except AppError as error:
            place_error(form, error)
            status = error.status_code
        else:
            flash("The article is under way: pick the angle you like best.", "success")
            return redirect(url_for("writeit.article", article_id=article.id))
    elif form.is_submitted():
        status = 400
    return render_template("writeit/new.html", form=form), status


@pages.route("/articles/<article_id>")
@login_required
def article(article_id: str):
    try:
        found = find_article(article_id)
    except AppError:
        abort(404)
    # The page's moment as the run's event ids count it (ms), taken *before* the run is read:
    # article.js reloads for a step that ends after it, so a step ending while the page is
    # being made still brings a reload (taken after, it fell in between and was missed).
    rendered_at_ms = int(time.time() * 1000)
    service = workflow_runs()
    current = service.detail(service.get(found.current_run_id))
    tree = branch_tree(service.lineage(found.root_run_id))
    return render_template("writeit/article.html", article=found, run=current, tree=tree,
                           status=ArticleStatus.of_run(current.status.value).value,
                           progress=run_progress(current), failure=failure_of(current),
                           branch_form=BranchForm(), formats=FORMATS, rendered_at_ms=rendered_at_ms)


@pages.route("/articles/<article_id>/branch", methods=["POST"])
@login_required
def branch(article_id: str):
    try:
        found = find_article(article_id)
    except AppError:
        abort(404)
    form = BranchForm()
    if not form.validate_on_submit():
        flash("Choose a step to branch from.", "error")
        return redirect(url_for("writeit.article", article_id=found.id))
    changes = {"audience": form.audience.data.strip()} if (form.audience.data or "").strip() else {}
    run_id = request.form.get("run_id") or found.current_run_id
    try:
        new_run = branch_article(found, run_id, form.step.data, changes)
    except AppError as error:
        flash(error.message, "error")
        return redirect(url_for("writeit.article", article_id=found.id))
    flash(f"Branched from the {form.step.data}: the article now follows the new branch.", "success")
    return redirect(url_for("studio.run_page", run_id=new_run.id) if "studio.run_page" in _endpoints()
                    else url_for("writeit.article", article_id=found.id))


def _endpoints() -> set[str]:
    return set(current_app.view_functions)


@pages.route("/articles/<article_id>/export.<fmt>")
@login_required
def export(article_id: str, fmt: str):
    if fmt not in MEDIA_TYPES:
        abort(404)
    try:
        found = find_article(article_id)
    except AppError:
        abort(404)
    try:
        exported = render_export(found, fmt, request.args.get("run"))
    except AppError as error:
        if error.status_code == 404:
            abort(404)
        flash(error.message, "error")
        return redirect(url_for("writeit.article", article_id=found.id))
    media_type, _ = MEDIA_TYPES[fmt]
    disposition = "attachment" if request.args.get("download") else "inline"
    return Response(exported["content"], mimetype=media_type.split(";")[0], headers={
        "Content-Disposition": f'{disposition}; filename="{exported["filename"]}"',
        "Content-Type": media_type})


# Style primers --------------------------------------------------------------------------------
def primer_values(form: PrimerForm) -> dict[str, Any]:
    """The primer a form describes, with its line-per-item fields split up."""
    def lines(text: str | None) -> list[str]:
        return [line.strip() for line in (text or "").splitlines() if line.strip()]
    voice = {}
    for line in lines(form.voice_attributes.data):
        key, _, value = line.partition(":")
        if key.strip() and value.strip():
            voice[key.strip()[:50]] = value.strip()[:300]
    guidelines = {name: lines(getattr(form, name).data) for name in ("avoid", "prefer") if lines(getattr(form, name).data)}
    return {"primer_id": form.primer_id.data, "name": form.name.data.strip(), "description": form.description.data or "",
            "content": form.content.data, "voice_attributes": voice,
            "example_openings": lines(form.example_openings.data), "guidelines": guidelines}


def fill_form(form: PrimerForm, primer: Any) -> None:
    form.primer_id.data, form.name.data, form.description.data = primer.primer_id, primer.name, primer.description
    form.content.data = primer.content
    form.voice_attributes.data = "\n".join(f"{k}: {v}" for k, v in primer.voice_attributes.items())
    form.example_openings.data = "\n".join(primer.example_openings)
    form.avoid.data = "\n".join(primer.guidelines.get("avoid", []))
    form.prefer.data = "\n".join(primer.guidelines.get("prefer", []))


@pages.route("/style-primers", methods=["GET", "POST"])
@login_required
def primers():
    library = PrimerLibrary(repositories())
    form = PrimerForm()
    status = 200
    if form.validate_on_submit():
        try:
            current_principal().require("style_primers", "create")
            library.create(primer_values(form))
        except AppError as error:
            place_error(form, error)
            status = error.status_code
        else:
            flash(f"Style primer “{form.name.data}” saved.", "success")
            return redirect(url_for("writeit.primers"))
    elif form.is_submitted():
        status = 400
    return render_template("writeit/primers.html", primers=library.all(), form=form,
                           delete_form=ConfirmForm()), status


@pages.route("/style-primers/<primer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_primer(primer_id: str):
    library = PrimerLibrary(repositories())
    primer = library.find(primer_id)
    if primer is None:
        abort(404)
    form = PrimerForm()
    if not form.is_submitted():
        fill_form(form, primer)
    form.primer_id.data = primer.primer_id  # the id names the primer; it is not edited
    status = 200
    if form.validate_on_submit():
        try:
            current_principal().require("style_primers", "update")
            library.update(primer_id, primer_values(form))
        except AppError as error:
            place_error(form, error)
            status = error.status_code
        else:
            flash(f"Style primer “{form.name.data}” saved.", "success")
            return redirect(url_for("writeit.primers"))
    elif form.is_submitted():
        status = 400
    return render_template("writeit/primer_edit.html", primer=primer, form=form), status


@pages.route("/style-primers/<primer_id>/delete", methods=["POST"])
@login_required
def delete_primer(primer_id: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        current_principal().require("style_primers", "delete")
        PrimerLibrary(repositories()).delete(primer_id)
    except AppError as error:
        if error.status_code == 404:
            abort(404)
        flash(error.message, "error")
    else:
        flash("Style primer deleted.", "success")
    return redirect(url_for("writeit.primers"))
