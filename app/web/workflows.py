"""The workflow catalog, uploading a workflow, and the run form generated from its inputs."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from wtforms import SubmitField
from wtforms.validators import NumberRange, Optional

from ..auth.principal import current_principal
from ..engine.service import Budget, RunService
from ..errors import AppError, ValidationError
from ..runtime import current_state, repositories
from ..workflows.catalog import CatalogEntry
from ..workflows.loader import WorkflowInvalid
from .forms import BudgetField, UploadWorkflowForm
from .input_forms import InputsForm, inputs_form_class
from .studio import blp


class RunForm(InputsForm):
    """A workflow's declared inputs, plus what every run may have: a spending cap."""

    budget_tokens = BudgetField("Token budget (optional)", validators=[Optional(), NumberRange(1, 10**12)],
                                description="The most tokens the run may spend; it pauses instead of passing it.")
    submit = SubmitField("Start the run")


def run_form(entry: CatalogEntry, formdata=None) -> RunForm:
    form_class = inputs_form_class(entry.definition.inputs, base=RunForm)
    return form_class() if formdata is None else form_class(formdata=formdata)


def _origin(entry: CatalogEntry) -> str:
    return entry.origin.split(":", 1)[1] if entry.origin.startswith("plugin:") else "uploaded here"


blp.add_app_template_filter(_origin, "workflow_origin")


@blp.route("/workflows", methods=["GET", "POST"])
@login_required
def workflows():
    """The catalog, and a form to upload a workflow document."""
    principal = current_principal()
    principal.require("workflows", "read")
    form = UploadWorkflowForm()
    status = 200
    if form.validate_on_submit():
        try:
            principal.require("workflows", "create")
            entry, created = current_state().catalog.upload(repositories(), form.source.data, principal.user_id)
        except WorkflowInvalid as error:
            form.source.errors = [*form.source.errors, *(str(problem) for problem in error.problems)]
            status = 400
        except AppError as error:
            form.source.errors = [*form.source.errors, error.message]
            status = error.status_code
        else:
            flash(f"{entry.name} {entry.version} is {'uploaded' if created else 'already here, unchanged'}.",
                  "success")
            return redirect(url_for("studio.start_workflow", name=entry.name))
    elif form.is_submitted():
        status = 400
    entries = current_state().catalog.listing(repositories())
    return render_template("studio/workflows.html", entries=entries, form=form), status


@blp.route("/workflows/<name>/run", methods=["GET", "POST"])
@login_required
def start_workflow(name: str):
    """The run form generated from the workflow's declared inputs; posting it starts a run."""
    principal = current_principal()
    principal.require("workflows", "read")
    entry = current_state().catalog.resolve(repositories(), name, request.args.get("version") or None)
    if request.method == "GET":
        return render_template("studio/run_form.html", entry=entry, form=run_form(entry))
    form = run_form(entry, request.form)
    inputs = form.check()
    if inputs is not None:
        service = RunService(repositories(), current_state(), principal)
        budget = Budget(tokens=form.budget_tokens.data) if form.budget_tokens.data else None
        try:
            run, _ = service.start(entry, inputs, budget=budget)
        except ValidationError as error:
            # Bad inputs are 400; a model the run cannot use is 422 (UNKNOWN_MODEL, MODEL_NOT_PRICED).
            form.form_errors.extend(form.place_errors(error))
            return render_template("studio/run_form.html", entry=entry, form=form), error.status_code
        else:
            flash(f"{entry.name} is running.", "success")
            return redirect(url_for("studio.run_page", run_id=run.id))
    return render_template("studio/run_form.html", entry=entry, form=form), 400
