"""A project's people over JSON, and a person's invitations.

``/api/draftforge/projects/<id>/collaborators``: list, invite (by username or email; the token
is in the answer once), change a role or permissions, revoke, remove, resend.
``/api/invitations``: the caller's pending invitations, and answering one by its token (from
the mail) or, for its invitee, by id. Both welcome a tenant's guests: ``project_access`` and
the invitation's own address decide what they reach.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.toolkit import ApiBlueprint, current_principal, current_state, repositories, welcome_guests

from .collaborator_schemas import (
    AnsweredSchema,
    AnswerSchema,
    CollaboratorListSchema,
    CollaboratorSchema,
    CollaboratorUpdateSchema,
    InvitationListSchema,
    InvitedSchema,
    InviteSchema,
)
from .collaborators import CollaboratorService, InvitationAnswers, collaborator_limit, status_of
from .models import Collaborator, Project
from .projects import field_error

people_api = welcome_guests(ApiBlueprint(
    "draftforge_people_api", __name__, url_prefix="/api/draftforge",
    description="Who shares a DraftForge project: collaborators and their invitations"))
invitations_api = welcome_guests(ApiBlueprint(
    "draftforge_invitations_api", __name__, url_prefix="/api/invitations",
    description="Your invitations to DraftForge projects, and answering them"))


def _service() -> CollaboratorService:
    return CollaboratorService(current_principal(), current_state().clock)


def shown(row: Collaborator) -> dict[str, Any]:
    """A row as the people list shows it: the person's name, or whom an invitation went to.
    Until an invitation by email is accepted, the row does not say whether an account uses
    the address (the inviter's answer is the same either way)."""
    hidden = row.invited_email is not None and row.accepted_at is None
    user = repositories().users.get(row.user_id) if row.user_id and not hidden else None
    return {"id": row.id, "project_id": row.project_id, "user_id": None if hidden else row.user_id,
            "username": user.username if user else None, "name": user.name if user else None,
            "invitee": row.invited_email or (user.username if user else None),
            "invited_by_user_id": row.invited_by_user_id, "role": row.role.value,
            "permissions": row.permissions or {}, "invitation_status": status_of(row, current_state().clock.now()),
            "invitation_expires_at": row.invitation_expires_at, "accepted_at": row.accepted_at,
            "last_accessed_at": row.last_accessed_at, "removed_at": row.removed_at,
            "created_at": row.created_at, "updated_at": row.updated_at}


def invitation_shown(row: Collaborator, project: Project) -> dict[str, Any]:
    inviter = repositories().users.get(row.invited_by_user_id) if row.invited_by_user_id else None
    return {"id": row.id, "project_id": project.id, "project_name": project.name, "tenant_id": project.tenant_id,
            "role": row.role.value, "invitation_status": status_of(row, current_state().clock.now()),
            "invitation_expires_at": row.invitation_expires_at,
            "invited_by": (inviter.name or inviter.username or inviter.email) if inviter else None,
            "created_at": row.created_at}


@people_api.route("/projects/<project_id>/collaborators", methods=["GET"])
@people_api.response(200, CollaboratorListSchema)
def list_collaborators(project_id: str):
    """Everyone the project is shared with or offered to, the owner first, removed rows last."""
    service = _service()
    project, rows = service.list(project_id)
    tier = service.repos.credit_accounts.tier_of(project.user_id)
    return {"items": [shown(row) for row in rows], "limit": collaborator_limit(getattr(tier, "value", tier)),
            "counted": service.rows.counted(project.id, current_state().clock.now())}


@people_api.route("/projects/<project_id>/collaborators", methods=["POST"])
@people_api.arguments(InviteSchema)
@people_api.response(201, InvitedSchema)
@people_api.alt_response(403, description="FORBIDDEN without can_invite; COLLABORATOR_LIMIT_REACHED (rule 6)")
@people_api.alt_response(409, description="ALREADY_COLLABORATOR")
def invite_collaborator(body: dict[str, Any], project_id: str):
    """Invite someone by username or email. The answer is the same whether an account uses the
    address or not; nobody joins until they accept. The token is shown here this once."""
    row, token = _service().invite(project_id, body["invitee"], body["role"], _overrides(body))
    return {"collaborator": shown(row), "invitation_token": token,
            "invitation_url": url_for("draftforge_invitations.answer", token=token, _external=True)}


@people_api.route("/projects/<project_id>/collaborators/<collaborator_id>", methods=["PATCH"])
@people_api.arguments(CollaboratorUpdateSchema)
@people_api.response(200, CollaboratorSchema)
@people_api.alt_response(409, description="CONFLICT: revoking an invitation that is not pending")
def update_collaborator(body: dict[str, Any], project_id: str, collaborator_id: str):
    """Change a role (its defaults) or permissions (over the role's), revoke a pending
    invitation (``revoke``), or remove a collaborator (``remove``: access ends at once)."""
    service = _service()
    if body["revoke"] and body["remove"]:
        raise field_error("remove", "Either revoke or remove, not both.")
    if body["revoke"]:
        return shown(service.revoke(project_id, collaborator_id))
    if body["remove"]:
        return shown(service.remove(project_id, collaborator_id))
    if body["role"] is None and body["permissions"] is None:
        raise field_error("role", "Send a role, permissions, revoke or remove.")
    return shown(service.change(project_id, collaborator_id, body["role"], _overrides(body)))


@people_api.route("/projects/<project_id>/collaborators/<collaborator_id>", methods=["DELETE"])
@people_api.response(200, CollaboratorSchema)
def remove_collaborator(project_id: str, collaborator_id: str):
    """Remove a collaborator (or withdraw a pending invitation): their access ends at once."""
    return shown(_service().remove(project_id, collaborator_id))


@people_api.route("/projects/<project_id>/collaborators/<collaborator_id>/resend", methods=["POST"])
@people_api.response(200, InvitedSchema)
@people_api.alt_response(409, description="ALREADY_COLLABORATOR: the invitation was accepted")
def resend_invitation(project_id: str, collaborator_id: str):
    """Mail the invitation again with a new token and expiry (pending, expired, declined or revoked)."""
    row, token = _service().resend(project_id, collaborator_id)
    return {"collaborator": shown(row), "invitation_token": token,
            "invitation_url": url_for("draftforge_invitations.answer", token=token, _external=True)}


def _overrides(body: dict[str, Any]) -> dict[str, bool] | None:
    permissions = body.get("permissions")
    return None if permissions is None else {key: value for key, value in permissions.items() if value is not None}


# -- The invitee's side ------------------------------------------------------------------------

def _answers() -> InvitationAnswers:
    return InvitationAnswers(current_principal(), current_state().clock)


@invitations_api.route("", methods=["GET"])
@invitations_api.response(200, InvitationListSchema)
def my_invitations():
    """Your pending invitations (to your account or your address), newest first."""
    return {"items": [invitation_shown(row, project) for row, project in _answers().mine()]}


def _answer(body: dict[str, Any], accept: bool) -> dict[str, Any]:
    if not body["token"] and not body["invitation_id"]:
        raise field_error("token", "Send the invitation's token (or its id).")
    answers = _answers()
    answer = answers.accept if accept else answers.decline
    row, project = answer(body["token"], body["invitation_id"])
    return {"invitation": invitation_shown(row, project),
            "project_url": url_for("draftforge.project", project_id=project.id) if accept else None}


@invitations_api.route("/accept", methods=["POST"])
@invitations_api.arguments(AnswerSchema)
@invitations_api.response(200, AnsweredSchema)
@invitations_api.alt_response(410, description="INVITATION_EXPIRED; INVITATION_INVALID: answered or revoked")
def accept_invitation(body: dict[str, Any]):
    """Accept an invitation: you join the project (as a guest of its tenant if you were not a
    member) with the role it offered."""
    return _answer(body, accept=True)


@invitations_api.route("/decline", methods=["POST"])
@invitations_api.arguments(AnswerSchema)
@invitations_api.response(200, AnsweredSchema)
@invitations_api.alt_response(410, description="INVITATION_EXPIRED; INVITATION_INVALID: answered or revoked")
def decline_invitation(body: dict[str, Any]):
    """Decline an invitation; the inviter is told."""
    return _answer(body, accept=False)
