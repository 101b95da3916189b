"""Queries over DraftForge's tables; the tenant scope comes from ``ScopedRepository``.

Two cross tenants, each saying why: an invitation's token and an invitee's own invitations
are found before anyone knows the project's tenant (``Invitations``), and a project its owner
opened beyond the tenant is read by people of others (``VisibleProjects``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from app.toolkit import ScopedRepository, SystemRepository, operation

from .models import (
    Collaborator,
    CollaboratorRole,
    InvitationStatus,
    Project,
    ProjectStatsRecord,
    ProjectStatus,
    Visibility,
)


class ProjectRepository(ScopedRepository[Project]):
    """Projects in the trash are hidden by the soft-delete scope; ``in_trash`` reads them."""

    model = Project

    def newest(self, *, user_id: uuid.UUID | None = None, status: ProjectStatus | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[Project], int]:
        criteria = []
        if user_id is not None:
            criteria.append(Project.user_id == user_id)
        if status is not None:
            criteria.append(Project.status == status)
        return self.page(*criteria, order_by=[Project.updated_at.desc(), Project.id.desc()], limit=limit,
                         offset=offset)

    @operation
    def shared_with(self, user_id: uuid.UUID, *, limit: int = 50, offset: int = 0) -> tuple[list[Project], int]:
        """The projects of this tenant someone collaborates on (accepted, not removed) without
        owning them: everything a guest of the tenant may list."""
        return self.page(self.collaborating(user_id), Project.user_id != user_id,
                         order_by=[Project.updated_at.desc(), Project.id.desc()], limit=limit, offset=offset)

    def collaborating(self, user_id: uuid.UUID) -> Any:
        """A criterion: the project is one of this tenant's the person collaborates on."""
        rows = CollaboratorRepository(self.session, tenant_id=self.tenant_id, metrics=self.metrics, cache=self.cache)
        return Project.id.in_(rows.core_select(Collaborator.project_id).where(
            Collaborator.user_id == user_id, Collaborator.invitation_status == InvitationStatus.ACCEPTED,
            Collaborator.removed_at.is_(None)))

    @operation
    def of_owner(self, user_id: uuid.UUID, slug: str) -> Project | None:
        return self.first(Project.user_id == user_id, Project.slug == slug)

    @operation
    def slug_taken(self, user_id: uuid.UUID, slug: str) -> bool:
        """Whether the owner has a project with this slug, in the trash or not (rule 2)."""
        return bool(self.session.scalar(select(func.count()).select_from(Project).where(
            self._in_tenant(), Project.user_id == user_id, Project.slug == slug)))

    @operation
    def active_count(self, user_id: uuid.UUID) -> int:
        """The owner's active projects, trash excluded (rule 1 counts these)."""
        return self.count(Project.user_id == user_id, Project.status == ProjectStatus.ACTIVE)

    @operation
    def in_trash(self, project_id: uuid.UUID) -> Project | None:
        return self.session.scalar(select(Project).where(self._in_tenant(), Project.id == project_id,
                                                         Project.deleted_at.is_not(None)))

    @operation
    def trashed_before(self, moment: datetime) -> list[Project]:
        return list(self.session.scalars(select(Project).where(self._in_tenant(), Project.deleted_at.is_not(None),
                                                               Project.deleted_at < moment)))


    @operation
    def purge(self, project: Project) -> None:
        """Remove a project's row for good, its stats row with it (by the foreign key)."""
        self.session.execute(self.delete_where(Project.id == project.id).execution_options(synchronize_session=False))


class ProjectStatsRepository(ScopedRepository[ProjectStatsRecord]):
    model = ProjectStatsRecord

    @operation
    def of_project(self, project_id: uuid.UUID) -> ProjectStatsRecord | None:
        return self.first(ProjectStatsRecord.project_id == project_id)


class CollaboratorRepository(ScopedRepository[Collaborator]):
    model = Collaborator

    @operation
    def of_project(self, project_id: uuid.UUID) -> list[Collaborator]:
        """Everyone a project was shared with or offered to, owner first, removed rows last."""
        return self.list(Collaborator.project_id == project_id,
                         order_by=[Collaborator.removed_at.is_not(None), Collaborator.role != CollaboratorRole.OWNER,
                                   Collaborator.created_at, Collaborator.id])

    @operation
    def in_project(self, project_id: uuid.UUID, collaborator_id: object) -> Collaborator | None:
        found = self.get(collaborator_id)
        return found if found is not None and found.project_id == project_id else None

    @operation
    def of_person(self, project_id: uuid.UUID, user_id: uuid.UUID | None = None,
                  email: str | None = None) -> Collaborator | None:
        """The row for this person in the project, by account or, for an invitation by email,
        by the address it was sent to."""
        criteria = []
        if user_id is not None:
            criteria.append(Collaborator.user_id == user_id)
        if email:
            criteria.append(Collaborator.invited_email == email)
        return self.first(Collaborator.project_id == project_id, or_(*criteria)) if criteria else None

    @operation
    def active(self, project_id: uuid.UUID, user_id: uuid.UUID) -> Collaborator | None:
        """The person's accepted, not removed part in the project: what their access rests on."""
        return self.first(Collaborator.project_id == project_id, Collaborator.user_id == user_id,
                          Collaborator.invitation_status == InvitationStatus.ACCEPTED,
                          Collaborator.removed_at.is_(None))

    @operation
    def counted(self, project_id: uuid.UUID, now: datetime) -> int:
        """Rule 6 counts these: pending invitations still open and accepted collaborators, the
        owner not counted."""
        return self.count(Collaborator.project_id == project_id, Collaborator.role != CollaboratorRole.OWNER,
                          Collaborator.removed_at.is_(None),
                          or_(Collaborator.invitation_status == InvitationStatus.ACCEPTED,
                              (Collaborator.invitation_status == InvitationStatus.PENDING)
                              & (Collaborator.invitation_expires_at > now)))

    @operation
    def still_shares(self, user_id: uuid.UUID) -> bool:
        """Whether anything of this tenant is still shared with the person."""
        return self.count(Collaborator.user_id == user_id, Collaborator.invitation_status == InvitationStatus.ACCEPTED,
                          Collaborator.removed_at.is_(None)) > 0


class Invitations(SystemRepository[Collaborator]):
    """Invitations by token, and a person's own, whatever the project's tenant.

    System scope: the invitee acts from their own tenant, often before they belong to the
    project's at all; the token in the mail's link (its SHA-256 is stored) or the invitee's
    own account and address are what name the row. Everything after runs in the project's
    tenant.
    """

    model = Collaborator

    @operation
    def by_token(self, token_hash: str) -> Collaborator | None:
        return self.session.scalar(select(Collaborator).where(Collaborator.invitation_token == token_hash))

    @operation
    def by_id_for(self, collaborator_id: uuid.UUID, user_id: uuid.UUID, email: str) -> Collaborator | None:
        """A pending invitation addressed to this person (by account or address), by its id."""
        return self.session.scalar(select(Collaborator).where(
            Collaborator.id == collaborator_id, Collaborator.invitation_status == InvitationStatus.PENDING,
            or_(Collaborator.user_id == user_id, Collaborator.invited_email == email)))

    @operation
    def pending_for(self, user_id: uuid.UUID, email: str) -> list[tuple[Collaborator, Project]]:
        """The person's pending invitations, newest first, with their projects."""
        rows = self.session.execute(
            select(Collaborator, Project).join(Project, Project.id == Collaborator.project_id)
            .where(Collaborator.invitation_status == InvitationStatus.PENDING, Collaborator.removed_at.is_(None),
                   Project.deleted_at.is_(None),
                   or_(Collaborator.user_id == user_id, Collaborator.invited_email == email))
            .order_by(Collaborator.created_at.desc(), Collaborator.id).limit(200))
        return [(row, project) for row, project in rows]

    @operation
    def shared_with(self, user_id: uuid.UUID) -> list[tuple[Collaborator, Project]]:
        """Every project in any tenant shared with the person (accepted, not removed), newest first."""
        rows = self.session.execute(
            select(Collaborator, Project).join(Project, Project.id == Collaborator.project_id)
            .where(Collaborator.user_id == user_id, Collaborator.invitation_status == InvitationStatus.ACCEPTED,
                   Collaborator.removed_at.is_(None), Collaborator.role != CollaboratorRole.OWNER,
                   Project.deleted_at.is_(None))
            .order_by(Project.updated_at.desc(), Project.id).limit(200))
        return [(row, project) for row, project in rows]


class VisibleProjects(SystemRepository[Project]):
    """Projects opened beyond their tenant (``unlisted``, ``public``), by id or owner and slug.

    System scope: an unlisted project is read by anyone signed in who has its link, a public
    one by anyone, git clients included — neither belongs to the project's tenant. Only such
    projects, never private ones or the trash; what the reader may do is ``project_access``'s.
    """

    model = Project

    @operation
    def by_id(self, project_id: uuid.UUID) -> Project | None:
        return self.session.scalar(select(Project).where(Project.id == project_id, *self._beyond_the_tenant()))

    @operation
    def of_owner(self, user_id: uuid.UUID, slug: str) -> Project | None:
        return self.session.scalar(select(Project).where(Project.user_id == user_id, Project.slug == slug,
                                                         *self._beyond_the_tenant()))

    @staticmethod
    def _beyond_the_tenant() -> tuple:
        return (Project.visibility.in_([Visibility.UNLISTED, Visibility.PUBLIC]), Project.deleted_at.is_(None))
