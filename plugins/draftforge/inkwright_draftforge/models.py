"""DraftForge's tables: a tenant's writing projects, their statistics and collaborators
(seed 003 tables 2, 3, 7).

A project's manuscript is not in the database: it is a bare git repository of its own
(``manuscript.py``); these rows hold what the seed says about the project and what was
computed from its history.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.toolkit import (
    JSONType,
    Model,
    SoftDelete,
    TenantScoped,
    Timestamps,
    UTCDateTime,
    UUIDPrimaryKey,
    enum_column,
)


class ProjectType(str, enum.Enum):
    NOVEL = "novel"
    SCREENPLAY = "screenplay"
    TECHNICAL_BOOK = "technical-book"
    NON_FICTION = "non-fiction"
    POETRY = "poetry"
    SHORT_STORY = "short-story"


class ProjectStatus(str, enum.Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    COMPLETED = "completed"


class Visibility(str, enum.Enum):
    PRIVATE = "private"
    UNLISTED = "unlisted"
    PUBLIC = "public"


class Project(UUIDPrimaryKey, Timestamps, SoftDelete, TenantScoped, Model):
    """A writing project: its seed fields, and where its manuscript lives in git. In the trash
    (``deleted_at``, restorable for 30 days) it is hidden by the repositories' scope."""

    __tablename__ = "draftforge_projects"
    __table_args__ = (
        # The seed's rule 2: a slug is the owner's, trash included (a restore must not collide).
        UniqueConstraint("user_id", "slug"),
        Index("ix_draftforge_projects_status", "status"),
        Index("ix_draftforge_projects_created_at", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                               index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    project_type: Mapped[ProjectType] = mapped_column(enum_column(ProjectType, "draftforge_project_type"),
                                                      nullable=False)
    github_repo_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    github_repo_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    github_repo_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    github_default_branch: Mapped[str] = mapped_column(String(100), nullable=False, default="main")
    github_webhook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: A Fernet token (the platform's secret box), never the secret in clear.
    github_webhook_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    chapters_directory: Mapped[str] = mapped_column(String(255), nullable=False, default="chapters")
    manuscript_directory: Mapped[str] = mapped_column(String(255), nullable=False, default="manuscript")
    #: The seed's ``{agents, compilation, github_actions}``.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    genre: Mapped[str | None] = mapped_column(String(100), nullable=True)
    target_word_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(10), nullable=False, default="en")
    status: Mapped[ProjectStatus] = mapped_column(enum_column(ProjectStatus, "draftforge_project_status"),
                                                  nullable=False, default=ProjectStatus.ACTIVE)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "draftforge_visibility"), nullable=False,
                                                   default=Visibility.PRIVATE)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProjectStatsRecord(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """Seed table 3: what the project's history adds up to (``stats.py`` computes it)."""

    __tablename__ = "draftforge_project_stats"
    __table_args__ = (Index("ix_draftforge_project_stats_updated_at", "updated_at"),)

    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("draftforge_projects.id", ondelete="CASCADE"),
                                                  nullable=False, unique=True)
    word_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    chapter_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    character_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_commit_sha: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_commit_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    total_commits: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    current_streak_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    longest_streak_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_write_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The seed's ``[{date, word_count, chapter_count, words_written_today, commits}]``.
    stats_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    #: Words and characters of every counted file at ``last_commit_sha``, by path: what lets a
    #: save be counted from its changed files alone.
    file_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class CollaboratorRole(str, enum.Enum):
    OWNER = "owner"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class InvitationStatus(str, enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


class Collaborator(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    """Seed table 7: a person's part in a project, from invitation to removal.

    An invitation by email to nobody with an account yet has no ``user_id`` until it is
    accepted (``invited_email`` says whom it is for); every other row names its person.
    ``invitation_token`` holds the SHA-256 of the token, which appears only in the mail's
    link and once in the inviter's answer.
    """

    __tablename__ = "draftforge_collaborators"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        UniqueConstraint("project_id", "invited_email"),
        Index("ix_draftforge_collaborators_role", "role"),
        Index("ix_draftforge_collaborators_invitation_status", "invitation_status"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("draftforge_projects.id", ondelete="CASCADE"),
                                                  nullable=False, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"),
                                                      nullable=True, index=True)
    #: Whom an invitation by email is for, lower-cased, while no account has taken it.
    invited_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    invited_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"),
                                                                 nullable=True)
    role: Mapped[CollaboratorRole] = mapped_column(enum_column(CollaboratorRole, "draftforge_collaborator_role"),
                                                   nullable=False, default=CollaboratorRole.VIEWER)
    #: The seed's ``{can_read, can_write, can_delete, can_invite, can_run_agents,
    #: can_view_stats, can_export, can_manage_settings}``: the role's defaults, overridden.
    permissions: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    invitation_status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus, "draftforge_invitation_status"), nullable=False,
        default=InvitationStatus.PENDING)
    invitation_token: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    invitation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_accessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
