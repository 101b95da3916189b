"""Sharing a project (seed 003 table 7, rule 6): invitations, their answers, roles, removal.

Lifecycle: ``pending → accepted | declined | revoked``; a pending invitation past its expiry
reads ``expired`` and cannot be accepted; an accepted collaborator can be removed
(``removed_at``: their access ends at once) or given another role. Re-inviting or resending
reuses the row with a new token and expiry. Nobody joins without accepting: an invitation to
an account and one to an address nobody uses yet get the same answer, and the token lives only
in the mail's link (and once in the inviter's answer), its SHA-256 in the row.

Accepting gives the invitee a guest membership of the project's tenant (``admit_guest``) if
they are not a member already; losing their last shared project there takes it away again.
Every change is in the audit log, and the inviter hears of an accept or a decline.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for

from app.toolkit import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    admit_guest,
    external_url,
    notify,
    record_audit,
    release_guest,
    repositories,
    send_mail,
    user_by_username,
)

from .access import PERMISSIONS, role_permissions
from .models import Collaborator, CollaboratorRole, InvitationStatus, Project
from .projects import ProjectService, field_error
from .repositories import CollaboratorRepository, Invitations, ProjectRepository

#: Rule 6: collaborators per project (pending and accepted, the owner not counted) by the
#: owner's subscription tier; a tier not listed has no limit. ``DRAFTFORGE_COLLABORATOR_LIMITS``.
DEFAULT_LIMITS = "free=5"
#: Roles an invitation or a change may give: a project has exactly one owner, its creator.
GIVABLE_ROLES = tuple(role for role in CollaboratorRole if role is not CollaboratorRole.OWNER)
EXPIRED = "expired"


class CollaboratorLimitReachedError(ConflictError):
    code = "COLLABORATOR_LIMIT_REACHED"
    status_code = 403


class AlreadyCollaboratorError(ConflictError):
    code = "ALREADY_COLLABORATOR"


class InvitationInvalidError(ConflictError):
    """The invitation was answered or revoked already: its link cannot be used again."""

    code = "INVITATION_INVALID"
    status_code = 410


class InvitationExpiredError(InvitationInvalidError):
    code = "INVITATION_EXPIRED"


class InvitationNotForYouError(ForbiddenError):
    code = "INVITATION_NOT_FOR_YOU"


class OwnerRequiredError(ConflictError):
    """A project keeps exactly one owner: their row is neither removed nor given another role."""

    code = "OWNER_REQUIRED"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status_of(row: Collaborator, now: datetime) -> str:
    """The row's status as people read it: a pending invitation past its expiry is ``expired``,
    a removed collaborator ``removed``."""
    if row.removed_at is not None:
        return "removed"
    if row.invitation_status == InvitationStatus.PENDING and row.invitation_expires_at is not None \
            and row.invitation_expires_at <= now:
        return EXPIRED
    return row.invitation_status.value


def collaborator_limit(tier: str | None) -> int | None:
    """The most collaborators a project of an owner on ``tier`` may have (``None``: no limit)."""
    limits = {}
    for part in str(current_app.config.get("DRAFTFORGE_COLLABORATOR_LIMITS") or DEFAULT_LIMITS).split(","):
        name, _, number = part.partition("=")
        if name.strip() and number.strip().isdigit():
            limits[name.strip()] = int(number)
    return limits.get(tier or "free")


def invitation_ttl() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("DRAFTFORGE_INVITATION_TTL") or 7 * 24 * 3600))


class CollaboratorService:
    """The project's people, for the signed-in principal (who needs ``can_invite`` to invite,
    resend and revoke, and ``can_manage_settings`` to change a role or remove someone)."""

    def __init__(self, principal: Any, clock: Any, repos: Any = None) -> None:
        self.principal = principal
        self.clock = clock
        self.repos = repos or repositories()
        self.rows = self.repos.get(CollaboratorRepository)
        self.projects = ProjectService(principal, clock, self.repos)

    # Reading ------------------------------------------------------------------------------
    def list(self, project_id: Any) -> tuple[Project, list[Collaborator]]:
        project = self.projects.get(project_id, "can_read")
        if project.tenant_id != self.principal.tenant_id:
            # Read through its link (unlisted, public): the text is open, its people are not.
            raise ForbiddenError("Who shares this project is for its own workspace to see.")
        return project, self.rows.of_project(project.id)

    def get(self, project_id: Any, collaborator_id: Any, permission: str = "can_read") -> tuple[Project, Collaborator]:
        project = self.projects.get(project_id, permission)
        row = self.rows.in_project(project.id, collaborator_id)
        if row is None:
            raise NotFoundError(f"No collaborator with id {collaborator_id} on this project.",
                                {"id": str(collaborator_id)})
        return project, row

    # Inviting -----------------------------------------------------------------------------
    def invite(self, project_id: Any, invitee: str, role: str = "viewer",
               permissions: dict[str, bool] | None = None) -> tuple[Collaborator, str]:
        """Invite a person by username or email; returns the row and the token (shown once).

        :raises ValidationError: for an unknown username, a bad role or permission key.
        :raises AlreadyCollaboratorError: for someone already in the project (or its owner).
        :raises CollaboratorLimitReachedError: rule 6.
        """
        chosen = self._givable(role)
        overrides = self._checked_overrides(permissions)
        invitee = (invitee or "").strip()
        with self.repos.transaction():
            project = self.projects.get(project_id, "can_invite")
            user, email = self._whom(invitee)
            if user is not None and user.id == project.user_id:
                raise AlreadyCollaboratorError("The project's owner is in it already.",
                                               {"fields": {"invitee": ["That is the project's owner."]}})
            row = self.rows.of_person(project.id, user.id if user else None, email)
            if row is not None and row.removed_at is None and row.invitation_status == InvitationStatus.ACCEPTED:
                raise AlreadyCollaboratorError("That person collaborates on the project already.",
                                               {"fields": {"invitee": ["Already a collaborator."]}})
            reopening = row is None or row.removed_at is not None or status_of(row, self.clock.now()) != "pending"
            if reopening:
                self._check_limit(project)
            if row is None:
                row = self.rows.add(Collaborator(id=uuid.uuid4(), project_id=project.id,
                                                 user_id=user.id if user else None, invited_email=email))
            row.role = chosen
            row.permissions = role_permissions(chosen, overrides)
            row.removed_at = None
            token = self._open(row)
            record_audit("collaborator.invite", "collaborator", row.id,
                         metadata={"project_id": project.id, "role": chosen, "invitee": invitee})
            self._tell_invitee(project, row, token, user, email)
        return row, token

    def resend(self, project_id: Any, collaborator_id: Any) -> tuple[Collaborator, str]:
        """A new token and expiry for an invitation not accepted (pending, expired, declined or
        revoked), mailed again."""
        with self.repos.transaction():
            project, row = self.get(project_id, collaborator_id, "can_invite")
            if row.invitation_status == InvitationStatus.ACCEPTED and row.removed_at is None:
                raise AlreadyCollaboratorError("That person accepted already; there is nothing to resend.")
            if row.role == CollaboratorRole.OWNER:
                raise ForbiddenError("The owner's row is not an invitation.")
            if row.removed_at is not None or status_of(row, self.clock.now()) != "pending":
                self._check_limit(project)
            row.removed_at = None
            token = self._open(row)
            user = self.repos.users.get(row.user_id) if row.user_id else None
            record_audit("collaborator.resend", "collaborator", row.id, metadata={"project_id": project.id})
            self._tell_invitee(project, row, token, user, row.invited_email)
        return row, token

    def revoke(self, project_id: Any, collaborator_id: Any) -> Collaborator:
        with self.repos.transaction():
            project, row = self.get(project_id, collaborator_id, "can_invite")
            if row.invitation_status != InvitationStatus.PENDING or row.removed_at is not None:
                raise ConflictError(f"Only a pending invitation can be revoked; this one is "
                                    f"{status_of(row, self.clock.now())}.", {"status": status_of(row, self.clock.now())})
            row.invitation_status = InvitationStatus.REVOKED
            self.rows.save(row)
            record_audit("collaborator.revoke", "collaborator", row.id, metadata={"project_id": project.id})
        return row

    # Managing -----------------------------------------------------------------------------
    def change(self, project_id: Any, collaborator_id: Any, role: str | None = None,
               permissions: dict[str, bool] | None = None) -> Collaborator:
        """A new role (its defaults) and/or permission overrides on top of the role's."""
        with self.repos.transaction():
            project, row = self.get(project_id, collaborator_id, "can_manage_settings")
            if row.role == CollaboratorRole.OWNER:
                raise OwnerRequiredError("A project keeps its one owner, who holds every permission; their row "
                                         "does not change.")
            before = {"role": row.role.value, "permissions": dict(row.permissions or {})}
            if role is not None:
                row.role = self._givable(role)
            overrides = self._checked_overrides(permissions)
            # A new role starts from its defaults; otherwise the overrides change what is there.
            current = {} if role is not None else dict(row.permissions or {})
            row.permissions = role_permissions(row.role, {**current, **overrides})
            self.rows.save(row)
            record_audit("collaborator.update", "collaborator", row.id,
                         changes={key: {"before": before[key], "after": after}
                                  for key, after in (("role", row.role.value), ("permissions", row.permissions))
                                  if before[key] != after},
                         metadata={"project_id": project.id})
        return row

    def remove(self, project_id: Any, collaborator_id: Any) -> Collaborator:
        """End an accepted collaborator's access at once (or withdraw a pending invitation)."""
        with self.repos.transaction():
            project, row = self.get(project_id, collaborator_id, "can_manage_settings")
            if row.role == CollaboratorRole.OWNER:
                raise OwnerRequiredError("A project keeps its one owner; delete the project instead.")
            if row.removed_at is not None:
                return row
            if row.invitation_status == InvitationStatus.PENDING:
                row.invitation_status = InvitationStatus.REVOKED
            row.removed_at = self.clock.now()
            self.rows.save(row)
            record_audit("collaborator.remove", "collaborator", row.id,
                         metadata={"project_id": project.id, "user_id": row.user_id})
            if row.user_id is not None and not self.rows.still_shares(row.user_id):
                release_guest(project.tenant_id, row.user_id)
        return row

    # Helpers ------------------------------------------------------------------------------
    def _whom(self, invitee: str) -> tuple[Any, str | None]:
        """The account named by a username, or the account (if any) and address of an email."""
        if "@" in invitee:
            email = invitee.lower()
            if len(email) > 320 or email.startswith("@") or email.endswith("@"):
                raise field_error("invitee", "A username or an email address.")
            return self.repos.users.find_by_email(email), email
        user = user_by_username(self.repos, invitee)
        if user is None:
            raise field_error("invitee", "Nobody has that username; invite them by email instead.")
        return user, None

    def _open(self, row: Collaborator) -> str:
        token = secrets.token_urlsafe(32)
        row.invitation_status = InvitationStatus.PENDING
        row.invitation_token = token_hash(token)
        row.invitation_expires_at = self.clock.now() + invitation_ttl()
        row.invited_by_user_id = self.principal.user_id
        self.rows.save(row)
        return token

    def _check_limit(self, project: Project) -> None:
        tier = self.repos.credit_accounts.tier_of(project.user_id)
        limit = collaborator_limit(getattr(tier, "value", tier))
        if limit is not None and self.rows.counted(project.id, self.clock.now()) >= limit:
            raise CollaboratorLimitReachedError(
                f"A project of the free tier has at most {limit} collaborators (pending invitations included); "
                f"remove one or upgrade.", {"limit": limit})

    @staticmethod
    def _givable(role: str | None) -> CollaboratorRole:
        try:
            chosen = CollaboratorRole(role or "viewer")
        except ValueError:
            chosen = None
        if chosen not in GIVABLE_ROLES:
            raise field_error("role", f"One of {', '.join(r.value for r in GIVABLE_ROLES)}.")
        return chosen

    @staticmethod
    def _checked_overrides(permissions: dict[str, Any] | None) -> dict[str, bool]:
        if permissions is None:
            return {}
        if not isinstance(permissions, dict):
            raise field_error("permissions", "An object of permission names to true or false.")
        for key, value in permissions.items():
            if key not in PERMISSIONS or not isinstance(value, bool):
                raise field_error(f"permissions.{key}", f"One of {', '.join(PERMISSIONS)}, set to true or false.")
        return dict(permissions)

    def _tell_invitee(self, project: Project, row: Collaborator, token: str, user: Any, email: str | None) -> None:
        inviter = self.principal.user
        who = (inviter.name or inviter.username or inviter.email) if inviter else "Someone"
        link = url_for("draftforge_invitations.answer", token=token)  # the token: in the mail only
        title = f"{who} invited you to {project.name}"
        message = f"You are invited as {row.role.value} of the project {project.name}."
        if user is not None:
            notify(user.id, "invitation", title, message, tenant_id=project.tenant_id,
                   related_entity_type="draftforge.collaborator", related_entity_id=str(row.id),
                   action_url=url_for("draftforge_invitations.mine"), action_label="Answer the invitation", mailer=None)
        to = user.email if user is not None else email
        expires = row.invitation_expires_at.strftime("%Y-%m-%d %H:%M UTC")
        send_mail("draftforge.invitation", to, title,
                  f"{message}\n\nAccept or decline it here (until {expires}):\n{external_url(link)}\n\n"
                  f"No account yet? The page lets you register with {to} and accept.")


class InvitationAnswers:
    """The invitee's side: their invitations, and accepting or declining one."""

    def __init__(self, principal: Any, clock: Any, repos: Any = None) -> None:
        self.principal = principal
        self.clock = clock
        self.repos = repos or repositories()
        self.invitations = self.repos.get(Invitations)

    def mine(self) -> list[tuple[Collaborator, Project]]:
        user = self._person()
        return self.invitations.pending_for(user.id, user.email.lower())

    def shared_with_me(self) -> list[tuple[Collaborator, Project]]:
        return self.invitations.shared_with(self._person().id)

    def find(self, token: str | None = None, invitation_id: Any = None) -> tuple[Collaborator, Project]:
        """The invitation a token (or, for its invitee, an id) names; not found otherwise."""
        row = None
        if token:
            row = self.invitations.by_token(token_hash(str(token)[:200]))
        elif invitation_id is not None:
            user = self._person()
            try:
                key = uuid.UUID(str(invitation_id))
            except ValueError:
                key = None
            row = key and self.invitations.by_id_for(key, user.id, user.email.lower())
        project = self.repos.for_tenant(row.tenant_id).get(ProjectRepository).get(row.project_id) if row else None
        if row is None or project is None or project.deleted_at is not None:
            raise NotFoundError("No such invitation: its link may be mistyped, or it was answered or revoked.")
        return row, project

    def accept(self, token: str | None = None, invitation_id: Any = None) -> tuple[Collaborator, Project]:
        return self._answer(token, invitation_id, accept=True)

    def decline(self, token: str | None = None, invitation_id: Any = None) -> tuple[Collaborator, Project]:
        return self._answer(token, invitation_id, accept=False)

    def _answer(self, token: str | None, invitation_id: Any, accept: bool) -> tuple[Collaborator, Project]:
        user = self._person()
        row, project = self.find(token, invitation_id)
        now = self.clock.now()
        status = status_of(row, now)
        if status == EXPIRED:
            raise InvitationExpiredError("This invitation has expired; ask for a new one.", {"status": status})
        if status != "pending":
            raise InvitationInvalidError(f"This invitation was {status}: its link cannot be used again.",
                                         {"status": status})
        if row.user_id is not None and row.user_id != user.id:
            raise InvitationNotForYouError("This invitation is for another account.")
        if row.user_id is None and (row.invited_email or "") != user.email.lower():
            raise InvitationNotForYouError(f"This invitation was sent to another address; sign in with that "
                                           f"account (you are signed in as {user.email}).")
        scoped = self.repos.for_tenant(project.tenant_id)
        rows = scoped.get(CollaboratorRepository)
        with scoped.transaction():
            if rows.active(project.id, user.id) is not None:
                raise AlreadyCollaboratorError("You collaborate on this project already.")
            row.user_id = user.id  # the token's hash stays: the link says it was used, not unknown
            row.invitation_status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
            if accept:
                row.accepted_at = now
                admit_guest(project.tenant_id, user.id, row.invited_by_user_id)
            rows.save(row)
            record_audit("collaborator.accept" if accept else "collaborator.decline", "collaborator", row.id,
                         metadata={"project_id": project.id, "user_id": user.id}, tenant_id=project.tenant_id)
            if row.invited_by_user_id is not None:
                verb = "accepted" if accept else "declined"
                notify(row.invited_by_user_id, "invitation", f"{user.name or user.username or user.email} {verb} "
                       f"your invitation to {project.name}", tenant_id=project.tenant_id,
                       related_entity_type="draftforge.collaborator", related_entity_id=str(row.id),
                       action_url=url_for("draftforge.people", project_id=project.id), action_label="See the people")
        return row, project

    def _person(self) -> Any:
        user = getattr(self.principal, "user", None)
        if user is None:
            raise ForbiddenError("Only a person's own sign-in can answer an invitation.")
        return user
