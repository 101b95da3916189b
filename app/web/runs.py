"""The run page: live progress, candidates side by side, select, regenerate, branch, cancel,
resume, retry.

Plugins link here (``url_for("studio.run_page", run_id=...)``) instead of building their
own progress pages. Every action goes through the engine's :class:`RunService` for the
signed-in person, so the rules, the tenant scope and the permissions are the JSON API's.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..engine.planner import text_of
from ..engine.run_progress import RunProgress, progress_of
from ..engine.service import Budget, RunService, RunView, caller_run_service
from ..errors import ConflictError, IllegalTransitionError, NotFoundError, ValidationError, public_error
from ..models import Run
from ..statuses import RunStatus, StepStatus
from ..workflows.definition import WorkflowDefinition
from . import handoff
from .forms import ConfirmForm, ResumeForm, SelectionForm
from .input_forms import InputsForm, inputs_form_class
from .run_subjects import subjects_of
from .studio import blp

#: Statuses in which the page refreshes itself (a paused run waits for a person, not for time).
ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
#: Runs a person may retry in place (the engine refuses the others with ILLEGAL_TRANSITION).
RETRYABLE = frozenset({RunStatus.FAILED, RunStatus.CRASHED})


class BranchForm(InputsForm):
    """Branch from one step, with the run's inputs shown for changing."""


def readable(output: Any) -> str:
    """A step's or candidate's output as a person reads it: its text when it has one, else
    its JSON laid out for reading."""
    text = text_of(output)
    return text if text is not None else json.dumps(output, indent=2, ensure_ascii=False, default=str)


def output_text(output: Any) -> str | None:
    """A step's or candidate's text, when its output has one (shown rendered as Markdown)."""
    return text_of(output)


def readable_duration(milliseconds: Any) -> str:
    """A span of time as a person says it: "850 ms", "12.4 s", "2 min 43 s", "1 h 5 min"."""
    if milliseconds is None:
        return "—"
    ms = int(milliseconds)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = round(ms / 1000)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def shown_error(error: Any) -> dict[str, Any] | None:
    """A recorded error as the page shows it: its envelope's code and message."""
    return public_error(error)


def run_progress(run: Any) -> RunProgress:
    return progress_of(run)


blp.add_app_template_filter(readable, "readable")
blp.add_app_template_filter(output_text, "output_text")
blp.add_app_template_filter(readable_duration, "readable_duration")
blp.add_app_template_filter(shown_error, "shown_error")
blp.add_app_template_filter(run_progress, "run_progress")


def branch_form(definition: WorkflowDefinition, run: Run, step_id: str, formdata: Any = None,
                data: dict[str, Any] | None = None) -> BranchForm:
    form_class = inputs_form_class(definition.inputs, run.inputs, base=BranchForm)
    return form_class(formdata=formdata, data=data, prefix=f"branch-{step_id}")


def _finished_steps(view: RunView) -> list[str]:
    """Step ids a person may branch from: those whose every row has ended."""
    rows: dict[str, list[Any]] = {}
    for step in view.steps:
        rows.setdefault(step.step_id, []).append(step)
    return [step_id for step_id, mine in rows.items() if all(row.status.is_terminal for row in mine)]


def _candidate_signature(view: RunView) -> str:
    """Changes only when what a person chooses from changes, so live updates leave a
    half-written feedback alone."""
    waiting = [(step.step_key, len(step.candidates or [])) for step in view.steps
               if step.status == StepStatus.AWAITING_SELECTION]
    return hashlib.sha1(json.dumps(waiting).encode()).hexdigest()[:12]


def live_context(service: RunService, run: Run, selection_forms: dict | None = None) -> dict[str, Any]:
    view = service.detail(run)
    awaiting = [step for step in view.steps if step.status == StepStatus.AWAITING_SELECTION]
    return {"run": view, "awaiting": awaiting, "active": run.status in ACTIVE,
            "progress": progress_of(view), "retryable": run.status in RETRYABLE,
            "candidates_version": _candidate_signature(view), "selection_forms": selection_forms or {},
            "action_form": ConfirmForm(formdata=None)}


def render_run_page(run: Run, status: int = 200, selection_forms: dict | None = None,
                    branch_forms: dict[str, BranchForm] | None = None):
    service = caller_run_service()
    context = live_context(service, run, selection_forms)
    definition = WorkflowDefinition.from_dict(run.definition)
    forms = {step_id: branch_form(definition, run, step_id) for step_id in _finished_steps(context["run"])}
    forms.update(branch_forms or {})
    family = service.lineage(run.id)
    by_id = {member.id: member for member in family}
    context.update(
        definition=definition, branch_forms=forms, family=family, subject=subjects_of([run]).get(run.id),
        parent=by_id.get(run.parent_run_id) or by_id.get(run.base_run_id),
        children=[member for member in family if run.id in (member.parent_run_id, member.base_run_id)])
    return render_template("studio/run.html", **context), status


@blp.route("/runs/<run_id>")
@login_required
def run_page(run_id: str):
    run = caller_run_service().get(run_id)
    # A refused choice or branch comes back here once, with its text and its errors.
    step_key = request.args.get("step", "")
    refused = handoff.refused(f"selection:{run.id}:{step_key}", SelectionForm) if step_key else None
    selection_forms = {(step_key, refused.index.data): refused} if refused else None
    branch_from = request.args.get("branch", "")
    refused_branch = None
    if branch_from:
        definition = WorkflowDefinition.from_dict(run.definition)
        refused_branch = handoff.refused(
            f"branch:{run.id}:{branch_from}",
            lambda formdata, data: branch_form(definition, run, branch_from, formdata, data))
    return render_run_page(run, 200, selection_forms, {branch_from: refused_branch} if refused_branch else None)


@blp.route("/runs/<run_id>/live")
@login_required
def run_live(run_id: str):
    """The parts of the run page that change, for the page's script to swap in."""
    service = caller_run_service()
    return render_template("studio/_run_live.html", **live_context(service, service.get(run_id)))


def back_to_or_run_page(run_id) -> str:
    """Where a choice made on another page returns: the path it names (a page of this studio:
    one slash, no scheme, no host), else the run page."""
    wanted = request.form.get("next", "")
    if wanted.startswith("/") and not wanted.startswith(("//", "/\\")) and "\n" not in wanted and len(wanted) < 500:
        return wanted
    return url_for("studio.run_page", run_id=run_id)


def _confirmed() -> bool:
    form = ConfirmForm()
    return form.validate_on_submit()


@blp.route("/runs/<run_id>/cancel", methods=["POST"])
@login_required
def cancel_run(run_id: str):
    service = caller_run_service()
    run = service.get(run_id)
    if _confirmed():
        try:
            service.cancel(run.id)
        except (ConflictError, IllegalTransitionError):
            flash(f"The run is already {service.get(run.id).status.value}; there is nothing to cancel.", "error")
        else:
            flash("The run is cancelled.", "success")
    return redirect(url_for("studio.run_page", run_id=run.id))


@blp.route("/runs/<run_id>/retry", methods=["POST"])
@login_required
def retry_run(run_id: str):
    """Retry a failed or crashed run in place; its failed and skipped steps run again."""
    service = caller_run_service()
    run = service.get(run_id)
    if _confirmed():
        try:
            service.retry(run.id)
        except (ConflictError, IllegalTransitionError):
            flash(f"The run is {service.get(run.id).status.value}; only a failed or crashed run can be retried.",
                  "error")
        else:
            flash("The run is retried: its failed steps run again.", "success")
    return redirect(url_for("studio.run_page", run_id=run.id))


@blp.route("/runs/<run_id>/resume", methods=["POST"])
@login_required
def resume_run(run_id: str):
    service = caller_run_service()
    run = service.get(run_id)
    form = ResumeForm()
    if not form.validate_on_submit():
        flash(" ".join(message for messages in form.errors.values() for message in messages), "error")
        return redirect(url_for("studio.run_page", run_id=run.id), 303)
    budget = None
    if form.budget_tokens.data:
        budget = Budget(tokens=form.budget_tokens.data, cost_usd=run.budget_cost_usd)
    try:
        service.resume(run.id, budget)
    except ConflictError as error:
        flash(error.message, "error")
    else:
        flash("The run goes on.", "success")
    return redirect(url_for("studio.run_page", run_id=run.id))


@blp.route("/runs/<run_id>/steps/<step_key>/select", methods=["POST"])
@login_required
def select_candidate(run_id: str, step_key: str):
    service = caller_run_service()
    run = service.get(run_id)
    form = SelectionForm()
    if not form.validate_on_submit():
        # Back to the run page with the error beside the feedback: a reload there sends nothing.
        handoff.keep_refused(f"selection:{run.id}:{step_key}", form)
        return redirect(url_for("studio.run_page", run_id=run.id, step=step_key, _anchor=f"choose-{step_key}"), 303)
    try:
        service.select(run.id, step_key, form.index.data, (form.feedback.data or "").strip() or None)
    except ValidationError as error:
        # No such candidate: there is no field of it to put the error beside.
        flash(error.message, "error")
        return redirect(back_to_or_run_page(run.id), 303)
    except (ConflictError, NotFoundError) as error:
        if isinstance(error, NotFoundError) and error.details.get("id"):
            raise  # the run itself is gone, not just the step
        flash(error.message, "error")
    else:
        flash(f"Candidate {form.index.data + 1} of {step_key} is chosen; the run goes on.", "success")
    return redirect(back_to_or_run_page(run.id))


@blp.route("/runs/<run_id>/steps/<step_key>/regenerate", methods=["POST"])
@login_required
def regenerate_candidates(run_id: str, step_key: str):
    service = caller_run_service()
    run = service.get(run_id)
    if _confirmed():
        try:
            service.regenerate(run.id, step_key)
        except (ConflictError, NotFoundError) as error:
            if isinstance(error, NotFoundError) and error.details.get("id"):
                raise
            flash(error.message, "error")
        else:
            flash(f"More candidates for {step_key} are on their way.", "success")
    return redirect(back_to_or_run_page(run.id))


@blp.route("/runs/<run_id>/branch/<step_id>", methods=["POST"])
@login_required
def branch_run(run_id: str, step_id: str):
    service = caller_run_service()
    run = service.get(run_id)
    definition = WorkflowDefinition.from_dict(run.definition)
    if step_id not in {spec.id for spec in definition.steps}:
        flash(f"This run has no step {step_id!r} to branch from.", "error")
        return redirect(url_for("studio.run_page", run_id=run.id))
    form = branch_form(definition, run, step_id, formdata=request.form)
    changes = form.check()
    if changes is not None:
        try:
            branch = service.branch(run.id, step_id, changes)
        except ValidationError as error:
            form.form_errors.extend(form.place_errors(error))
        else:
            flash(f"A new branch from {step_id} is running.", "success")
            return redirect(url_for("studio.run_page", run_id=branch.id))
    # Back to the run page with the errors beside the fields: a reload there sends nothing.
    handoff.keep_refused(f"branch:{run.id}:{step_id}", form)
    return redirect(url_for("studio.run_page", run_id=run.id, branch=step_id, _anchor=f"branch-from-{step_id}"), 303)
