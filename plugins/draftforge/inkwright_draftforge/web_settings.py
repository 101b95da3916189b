"""DraftForge's settings page: each agent's settings, and the project's GitHub link (a new
webhook secret shown once, handed over the redirect that made it). Routes of ``web.pages``."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import login_required

from app.toolkit import AppError, check_model_names, current_principal, hand_over, handed_over

from . import github_links
from .access import may
from .forms import ConfirmForm, GithubLinkForm, SettingsForm
from .models import Project
from .projects import AGENT_TYPES
from .web import find_project, pages, place_error, render_page, service


# Settings ---------------------------------------------------------------------------------
def filled_settings_form(found: Project) -> SettingsForm:
    """The agents' form as the project's settings are now."""
    agents = (found.settings or {}).get("agents") or {}
    form = SettingsForm(formdata=None)
    for name in AGENT_TYPES:
        values = agents.get(name) or {}
        part = getattr(form, name)
        part.enabled.data = bool(values.get("enabled"))
        part.model.data = values.get("model") or ""
        part.trigger.data = values.get("trigger") or "manual"
        part.context_window.data = values.get("context_window") or 5
        part.schedule.data = values.get("schedule") or ""
    return form


@pages.route("/<project_id>/settings", methods=["GET", "POST"])
@login_required
def settings(project_id: str):
    found = find_project(project_id)
    can_manage = may(found, current_principal(), "can_manage_settings")
    agents = (found.settings or {}).get("agents") or {}
    form = SettingsForm() if request.method == "POST" else filled_settings_form(found)
    status = 200
    if form.is_submitted() and not can_manage:
        abort(403)
    if form.validate_on_submit():
        chosen = {}
        for name in AGENT_TYPES:
            part = getattr(form, name)
            chosen[name] = {**(agents.get(name) or {}), "enabled": bool(part.enabled.data),
                            "model": (part.model.data or "").strip() or None, "trigger": part.trigger.data,
                            "context_window": part.context_window.data,
                            "schedule": (part.schedule.data or "").strip() or None}
        try:
            # A model no installed provider serves, or the catalog cannot price, is refused
            # here beside its field rather than when the agent first runs.
            check_model_names({f"{name}.model": values["model"] for name, values in chosen.items()})
            service().update(found.id, {"settings": {"agents": chosen}})
        except AppError as error:
            place_error(form, error)
            status = error.status_code
        else:
            flash("Agent settings saved.", "success")
            return redirect(url_for("draftforge.settings", project_id=found.id))
    elif form.is_submitted():
        status = 400
    return settings_page(found, status, form=form, can_manage=can_manage)


def settings_page(found: Project, status: int = 200, **shown: Any) -> Any:
    """The settings page: the agents' form, and the project's GitHub link (a new secret shown
    once, handed over the redirect that made it)."""
    can_manage = shown.pop("can_manage", None)
    if can_manage is None:
        can_manage = may(found, current_principal(), "can_manage_settings")
    shown.setdefault("form", None)
    if shown["form"] is None:
        shown["form"] = filled_settings_form(found)
    return render_page("settings.html", found, status, can_manage=can_manage, agent_types=AGENT_TYPES,
                       github_form=shown.pop("github_form", None) or GithubLinkForm(
                           formdata=None, data={"repo_name": found.github_repo_name, "repo_id": found.github_repo_id}),
                       github_secret=handed_over("draftforge_github"),
                       webhook_url=url_for("draftforge_github.github_delivery", _external=True),
                       confirm_form=ConfirmForm(formdata=None), **shown)


@pages.route("/<project_id>/github", methods=["POST"])
@login_required
def link_github(project_id: str):
    """Link the project to its GitHub repository; the new secret is shown once on the settings page."""
    found = find_project(project_id)
    if not may(found, current_principal(), "can_manage_settings"):
        abort(403)
    form = GithubLinkForm()
    if not form.validate_on_submit():
        return settings_page(found, 400, github_form=form)
    try:
        _, secret = github_links.link(service(), found.id, repo_id=form.repo_id.data,
                                      repo_name=form.repo_name.data.strip(), repo_url=None, webhook_id=None)
    except AppError as error:
        place_error(form, error)
        return settings_page(found, error.status_code, github_form=form)
    hand_over("draftforge_github", {"secret": secret})
    flash(f"Linked to {form.repo_name.data.strip()} on GitHub.", "success")
    return redirect(url_for("draftforge.settings", project_id=found.id, _anchor="github"))


@pages.route("/<project_id>/github/unlink", methods=["POST"])
@login_required
def unlink_github(project_id: str):
    found = find_project(project_id)
    if not may(found, current_principal(), "can_manage_settings"):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    github_links.unlink(service(), found.id)
    flash("The GitHub link is gone: deliveries for that repository are refused from now on.", "success")
    return redirect(url_for("draftforge.settings", project_id=found.id, _anchor="github"))
