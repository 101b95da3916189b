"""Queries over DraftForge's tables; the tenant scope comes from ``ScopedRepository``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from app.toolkit import ScopedRepository, operation

from .models import Project, ProjectStatsRecord, ProjectStatus


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
