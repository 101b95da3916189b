"""DraftForge's people pages (seed 003 table 7): a project's People tab — who shares it, an
invitation form, each row's role, revoke, remove and resend — as routes of ``web.pages``;
and the invitee's side on ``invitation_pages``: their invitations, the page a mail's link
opens, and opening a project shared with them in any tenant.

Every change goes through ``CollaboratorService`` or ``InvitationAnswers``; the People tab
finds its project with ``find_project`` (404 for what the caller may not read, 403 for what
they may read but not change). The token is never shown: only the invitee's mail has it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.toolkit import AppError, NotFoundError, current_principal, current_state, welcome_guests

from .access import is_guest, may
from .collaborator_api import invitation_shown, shown
from .collaborators import CollaboratorService, InvitationAnswers, InvitationInvalidError, collaborator_limit
from .forms import CollaboratorRoleForm, ConfirmForm, InvitationAnswerForm, InviteForm
from .models import Collaborator, Project
from .web import find_project, pages, place_error, render_page

#: The invitee's pages: they answer from their own tenant, often before they belong to the
#: project's, and a guest of a tenant keeps their invitations and shared projects.
invitation_pages = welcome_guests(Blueprint("draftforge_invitations", __name__))

@pages.before_request
def refuse_guests_a_new_project():
    """A guest of the tenant works on what was shared with them; they make no project in it."""
    if request.endpoint == "draftforge.new_project" and current_user.is_authenticated and is_guest(current_principal()):
        abort(403)


def people_service() -> CollaboratorService:
    return CollaboratorService(current_principal(), current_state().clock)


def invitation_answers() -> InvitationAnswers:
    return InvitationAnswers(current_principal(), current_state().clock)


# The People tab ---------------------------------------------------------------------------
@pages.route("/<project_id>/people", methods=["GET", "POST"])
@login_required
def people(project_id: str):
    found = find_project(project_id)
    form = InviteForm()
    status = 200
    if form.is_submitted() and not may(found, current_principal(), "can_invite"):
        abort(403)
    if form.validate_on_submit():
        invitee = form.invitee.data.strip()
        try:
            people_service().invite(found.id, invitee, form.role.data)
        except AppError as error:
            # A limit reached or an unknown username: beside the field or above the form.
            place_error(form, error)
            status = error.status_code
        else:
            # The same words whether an account uses the address or not (collaborators.py).
            flash(f"Invitation sent to {invitee}: they join as {form.role.data} once they accept.", "success")
            return redirect(url_for("draftforge.people", project_id=found.id))
    elif form.is_submitted():
        status = 400
    return people_page(found, status, form)


def people_page(found: Project, status: int = 200, form: InviteForm | None = None,
                role_forms: dict[str, CollaboratorRoleForm] | None = None) -> Any:
    """The People tab: everyone the project is shared with or offered to, the owner first."""
    principal = current_principal()
    service = people_service()
    if found.tenant_id != principal.tenant_id:
        abort(403)  # read through its link (unlisted, public): the text is open, its people are not
    rows = [shown(row) for row in service.rows.of_project(found.id)]
    tier = service.repos.credit_accounts.tier_of(found.user_id)
    chosen = role_forms or {}
    forms = {str(row["id"]): chosen.get(str(row["id"])) or CollaboratorRoleForm(formdata=None, role=row["role"])
             for row in rows}
    return render_page("people.html", found, status, rows=rows, form=form or InviteForm(formdata=None),
                       role_forms=forms, confirm_form=ConfirmForm(formdata=None),
                       limit=collaborator_limit(getattr(tier, "value", tier)),
                       counted=service.rows.counted(found.id, current_state().clock.now()),
                       can_invite=may(found, principal, "can_invite"),
                       can_manage=may(found, principal, "can_manage_settings"))


def act_on_row(project_id: str, permission: str, act: Any) -> Any:
    """Check the button's form, do ``act(service, project, row_id)`` and go back to the tab;
    a refusal of the service (the owner's row, an invitation already answered) is said there."""
    found = find_project(project_id, permission)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        flash(act(people_service(), found), "success")
    except NotFoundError:
        abort(404)
    except AppError as error:
        flash(error.message, "error")
    return redirect(url_for("draftforge.people", project_id=found.id))


def named(row: Collaborator) -> str:
    person = shown(row)
    return person["name"] or person["username"] or person["invitee"] or "them"


@pages.route("/<project_id>/people/<collaborator_id>/role", methods=["POST"])
@login_required
def change_role(project_id: str, collaborator_id: str):
    found = find_project(project_id, "can_manage_settings")
    form = CollaboratorRoleForm()
    if not form.validate_on_submit():
        if not form.csrf_token.errors and form.role.errors:
            return people_page(found, 400, role_forms={collaborator_id: form})
        abort(400)
    try:
        row = people_service().change(found.id, collaborator_id, role=form.role.data)
    except NotFoundError:
        abort(404)
    except AppError as error:
        flash(error.message, "error")
    else:
        flash(f"{named(row)} is now {row.role.value} of the project.", "success")
    return redirect(url_for("draftforge.people", project_id=found.id))


@pages.route("/<project_id>/people/<collaborator_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(project_id: str, collaborator_id: str):
    return act_on_row(project_id, "can_invite", lambda service, found: (
        f"The invitation to {named(service.revoke(found.id, collaborator_id))} is revoked: its link no longer works."))


@pages.route("/<project_id>/people/<collaborator_id>/remove", methods=["POST"])
@login_required
def remove_collaborator(project_id: str, collaborator_id: str):
    return act_on_row(project_id, "can_manage_settings", lambda service, found: (
        f"{named(service.remove(found.id, collaborator_id))} is removed: their access ended."))


@pages.route("/<project_id>/people/<collaborator_id>/resend", methods=["POST"])
@login_required
def resend_invitation(project_id: str, collaborator_id: str):
    return act_on_row(project_id, "can_invite", lambda service, found: (
        f"Invitation sent again to {named(service.resend(found.id, collaborator_id)[0])}, with a new link."))


# The invitee's side -----------------------------------------------------------------------
@invitation_pages.route("/invitations")
@login_required
def mine():
    answers = invitation_answers()
    return render_template("draftforge/invitations.html",
                           pending=[invitation_shown(row, project) for row, project in answers.mine()],
                           shared=answers.shared_with_me(), confirm_form=ConfirmForm(formdata=None))


@invitation_pages.route("/invitations/by-id/<invitation_id>/<any(accept, decline):verdict>", methods=["POST"])
@login_required
def answer_by_id(invitation_id: str, verdict: str):
    """Accept or decline one of the person's invitations from their list."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        return answered(verdict, invitation_id=invitation_id)
    except NotFoundError:
        abort(404)
    except AppError as error:  # closed meanwhile, or for another account
        flash(error.message, "error")
        return redirect(url_for("draftforge_invitations.mine"))


@invitation_pages.route("/invitations/<token>", methods=["GET", "POST"])
def answer(token: str):
    """The page a mail's link opens: what the invitation offers; signed in, Accept or Decline;
    signed out, sign in or register and come back. A closed invitation answers 410."""
    if request.method == "POST" and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    principal = current_principal() if current_user.is_authenticated else None
    try:
        row, project = InvitationAnswers(principal, current_state().clock).find(token=token)
    except NotFoundError as error:
        return invitation_page(None, 404, problem=error.message)
    offered = invitation_shown(row, project)
    if offered["invitation_status"] != "pending":
        return invitation_page(offered, 410, problem=f"This invitation is {offered['invitation_status']}: it cannot "
                                                     f"be answered now. Ask whoever invited you for a new one.")
    form = InvitationAnswerForm()
    verdict = "accept" if form.accept.data else "decline" if form.decline.data else None
    status = 200
    if principal is not None and form.validate_on_submit() and verdict:
        try:
            return answered(verdict, token=token)
        except InvitationInvalidError as error:
            return invitation_page(offered, 410, problem=error.message)
        except AppError as error:  # meant for another account or address
            return invitation_page(offered, error.status_code, problem=error.message, form=form)
    elif form.is_submitted():
        status = 400
    return invitation_page(offered, status, form=form, email=row.invited_email)


def invitation_page(offered: dict[str, Any] | None, status: int, **shown_too: Any) -> Any:
    # No ``project`` in the page: the layout would offer the project's tabs to someone who
    # may not read it yet.
    shown_too.setdefault("form", None)
    return render_template("draftforge/invitation.html", offered=offered, **shown_too), status


def answered(verdict: str, token: str | None = None, invitation_id: str | None = None) -> Any:
    """Answer the invitation; after accepting, the session works in the project's tenant
    (as the studio's tenant switch does) and the project opens."""
    answers = invitation_answers()
    if verdict == "accept":
        row, project = answers.accept(token, invitation_id)
        session["tenant_id"] = str(project.tenant_id)
        flash(f"You joined {project.name} as {row.role.value}.", "success")
        return redirect(url_for("draftforge.project", project_id=project.id))
    _, project = answers.decline(token, invitation_id)
    flash(f"You declined the invitation to {project.name}; whoever invited you is told.", "info")
    return redirect(url_for("draftforge_invitations.mine"))


@invitation_pages.route("/invitations/shared/<project_id>/open", methods=["POST"])
@login_required
def open_shared(project_id: str):
    """Open a project shared with the person, switching the session to its tenant."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    for _, project in invitation_answers().shared_with_me():
        if str(project.id) == project_id:
            session["tenant_id"] = str(project.tenant_id)
            return redirect(url_for("draftforge.project", project_id=project.id))
    abort(404)

