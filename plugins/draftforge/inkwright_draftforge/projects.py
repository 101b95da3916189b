"""The project service: create, change, archive, complete, delete and restore projects.

Every change checks ``project_access``, writes in one transaction with its audit entry and
event, and leaves the repository on disk consistent with the row: a project is created with
its bare repository and an empty stats row; a project in the trash is restorable for 30 days and refused after.
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import timedelta
from typing import Any

from app.toolkit import (
    ConflictError,
    DomainEvent,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    current_state,
    ensure_username,
    record_audit,
    repositories,
)

from .access import PERMISSIONS, is_guest, project_access
from .manuscript_values import Author
from .models import (
    Collaborator,
    CollaboratorRole,
    InvitationStatus,
    Project,
    ProjectStatsRecord,
    ProjectStatus,
    ProjectType,
    Visibility,
)
from .repositories import CollaboratorRepository, ProjectRepository, ProjectStatsRepository, VisibleProjects
from .repository_store import create_manuscript, repository_path

SLUG = re.compile(r"^[a-z0-9_-]{1,100}$")
#: Seed 003 rule 1: active projects per person on the free tier.
FREE_TIER_PROJECTS = 100
RESTORE_DAYS = 30
AGENT_TYPES = ("continuity", "style", "timeline", "fact")
TRIGGERS = ("manual", "commit", "pr", "scheduled", "webhook")


class ProjectLimitReachedError(ConflictError):
    code = "PROJECT_LIMIT_REACHED"
    status_code = 403


class SlugTakenError(ConflictError):
    code = "SLUG_TAKEN"


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError("Some of the values sent are not valid; see error.details.fields.",
                           {"fields": {field: [message]}})


def default_settings(preferences: dict[str, Any] | None) -> dict[str, Any]:
    """The seed's settings shape, with the creator's ``default_agent_settings`` as agent defaults."""
    chosen = dict((preferences or {}).get("default_agent_settings") or {})
    agents = {}
    for agent in AGENT_TYPES:
        base = {"enabled": agent in ("continuity", "style"), "model": None, "trigger": "manual",
                "context_window": 5, "schedule": None}
        own = chosen.get(agent) if isinstance(chosen.get(agent), dict) else {}
        agents[agent] = {**base, **{k: v for k, v in own.items() if k in base}}
    return {"agents": agents,
            "compilation": {"pandoc_template": "default", "include_cover": True, "auto_build_on_tag": False},
            "github_actions": {"stats_enabled": True, "compile_enabled": False, "ai_review_enabled": True}}


def check_agent_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """:raises ValidationError: for an unknown agent, trigger or a context window outside 1-50."""
    agents = settings.get("agents") or {}
    if not isinstance(agents, dict):
        raise field_error("settings.agents", "An object of agent settings by agent name.")
    # DraftForge's own four, and any agent a pip-installed package adds.
    known = sorted(set(AGENT_TYPES) | set(current_state().registry.agents))
    for name, values in agents.items():
        if name not in known or not isinstance(values, dict):
            raise field_error(f"settings.agents.{name}", f"Not one of the agents: {', '.join(known)}.")
        if values.get("trigger") not in (None, *TRIGGERS):
            raise field_error(f"settings.agents.{name}.trigger", f"One of {', '.join(TRIGGERS)}.")
        window = values.get("context_window")
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 50):
            raise field_error(f"settings.agents.{name}.context_window", "A whole number from 1 to 50.")
        if "enabled" in values and not isinstance(values["enabled"], bool):
            raise field_error(f"settings.agents.{name}.enabled", "True or false.")
    return settings


def visible_beyond_the_tenant(repos: Any, project_id: Any) -> Project | None:
    """Another tenant's project whose owner made it unlisted or public (else ``None``)."""
    try:
        key = uuid.UUID(str(project_id))
    except ValueError:
        return None
    return repos.get(VisibleProjects).by_id(key)


class ProjectService:
    def __init__(self, principal: Any, clock: Any, repos: Any = None) -> None:
        self.principal = principal
        self.clock = clock
        self.repos = repos or repositories()
        self.projects = self.repos.get(ProjectRepository)
        self.stats = self.repos.get(ProjectStatsRepository)

    # Reading ------------------------------------------------------------------------------
    def get(self, project_id: Any, permission: str = "can_read") -> Project:
        """:raises NotFoundError: for a project not in the tenant; ForbiddenError without ``permission``."""
        project = self.projects.get(project_id) or visible_beyond_the_tenant(self.repos, project_id)
        if project is None:
            raise NotFoundError(f"No project with id {project_id} here.", {"id": str(project_id)})
        project_access(project, self.principal, permission)
        return project

    # Creating -----------------------------------------------------------------------------
    def create(self, *, name: str, slug: str, project_type: str, description: str | None = None,
               genre: str | None = None, target_word_count: int | None = None, language: str = "en",
               visibility: str = "private", settings: dict[str, Any] | None = None) -> Project:
        owner = self.principal.user_id
        if owner is None:
            raise ValidationError("A project needs a person to own it.")
        if is_guest(self.principal):
            raise ForbiddenError("You are a guest of this workspace: you work on what was shared with you, and "
                                 "make your projects in your own.")
        name = (name or "").strip()
        if not 1 <= len(name) <= 100:
            raise field_error("name", "Between 1 and 100 characters.")
        if not SLUG.match(slug or ""):
            raise field_error("slug", "1 to 100 lower-case letters, digits, hyphens and underscores.")
        try:
            kind = ProjectType(project_type)
        except ValueError:
            raise field_error("projectType", f"One of {', '.join(t.value for t in ProjectType)}.") from None
        try:
            seen = Visibility(visibility)
        except ValueError:
            raise field_error("visibility", f"One of {', '.join(v.value for v in Visibility)}.") from None
        if target_word_count is not None and (isinstance(target_word_count, bool) or target_word_count < 0):
            raise field_error("targetWordCount", "A whole number, 0 or more.")
        user = self.principal.user
        chosen = default_settings(getattr(user, "preferences", None))
        if settings:
            merged_agents = {**chosen["agents"], **{k: {**chosen["agents"].get(k, {}), **v}
                                                    for k, v in (settings.get("agents") or {}).items()
                                                    if isinstance(v, dict)}}
            chosen = check_agent_settings({**chosen, **settings, "agents": merged_agents})
        with self.repos.transaction() as unit:
            self._check_limit(owner)
            if self.projects.slug_taken(owner, slug):
                raise SlugTakenError("You already have a project with this slug (the trash included).",
                                     {"fields": {"slug": ["Already one of your projects (the trash included)."]}})
            username = ensure_username(self.repos, owner)
            now = self.clock.now()
            project = self.projects.add(Project(
                id=uuid.uuid4(), user_id=owner, name=name, slug=slug, description=description, project_type=kind,
                genre=genre, target_word_count=target_word_count, language=language or "en", visibility=seen,
                settings=chosen, created_at=now, updated_at=now))
            self.stats.add(ProjectStatsRecord(project_id=project.id))
            # Its one owner row: the people list starts with them (seed table 7).
            self.repos.get(CollaboratorRepository).add(Collaborator(
                project_id=project.id, user_id=owner, role=CollaboratorRole.OWNER,
                permissions={key: True for key in PERMISSIONS}, invitation_status=InvitationStatus.ACCEPTED,
                accepted_at=now))
            record_audit("project.create", "project", project.id, metadata={"slug": slug, "name": name})
            unit.publish(DomainEvent(type="project.created", aggregate_id=str(project.id),
                                     tenant_id=project.tenant_id, actor_id=owner,
                                     payload={"projectId": str(project.id), "name": name, "slug": slug,
                                              "projectType": kind.value, "owner": username}))
            # Made inside the transaction: should the row not commit, the folder is removed below.
            try:
                manuscript = create_manuscript(project, Author(user.name or username, user.email))
            except Exception:
                shutil.rmtree(repository_path(project), ignore_errors=True)
                raise
        # The repository's first commit is in the history like any other: the stats count it.
        from .stats_service import record_commit

        record_commit(project, manuscript.head(), repos=self.repos, actor_id=owner)
        return project

    def _check_limit(self, owner: uuid.UUID) -> None:
        tier = self.repos.credit_accounts.tier_of(owner)
        if (tier is None or tier.value == "free") and self.projects.active_count(owner) >= FREE_TIER_PROJECTS:
            raise ProjectLimitReachedError(
                f"The free tier keeps {FREE_TIER_PROJECTS} active projects; archive one or upgrade.",
                {"limit": FREE_TIER_PROJECTS})

    # Changing -----------------------------------------------------------------------------
    def update(self, project_id: Any, changes: dict[str, Any]) -> Project:
        with self.repos.transaction():
            project = self.get(project_id, "can_manage_settings" if "settings" in changes else "can_write")
            before = {key: _plain(getattr(project, key)) for key in changes}
            if "name" in changes:
                name = (changes["name"] or "").strip()
                if not 1 <= len(name) <= 100:
                    raise field_error("name", "Between 1 and 100 characters.")
                project.name = name
            for key in ("description", "genre", "language"):
                if key in changes:
                    setattr(project, key, changes[key])
            if "target_word_count" in changes:
                value = changes["target_word_count"]
                if value is not None and (isinstance(value, bool) or value < 0):
                    raise field_error("targetWordCount", "A whole number, 0 or more.")
                project.target_word_count = value
            if "visibility" in changes:
                try:
                    project.visibility = Visibility(changes["visibility"])
                except ValueError:
                    raise field_error("visibility", f"One of {', '.join(v.value for v in Visibility)}.") from None
            if "settings" in changes:
                project.settings = check_agent_settings({**project.settings, **(changes["settings"] or {})})
            project.updated_at = self.clock.now()
            self.projects.save(project)
            record_audit("project.update", "project", project.id,
                         changes={key: {"before": before[key], "after": _plain(getattr(project, key))}
                                  for key in changes if before[key] != _plain(getattr(project, key))})
        return project

    def set_status(self, project_id: Any, status: str) -> Project:
        """Archive, complete or make active again; unarchiving counts against rule 1."""
        try:
            new = ProjectStatus(status)
        except ValueError:
            raise field_error("status", f"One of {', '.join(s.value for s in ProjectStatus)}.") from None
        with self.repos.transaction():
            project = self.get(project_id, "can_manage_settings")
            if new == ProjectStatus.ACTIVE and project.status != ProjectStatus.ACTIVE:
                self._check_limit(project.user_id)
            before = project.status.value
            project.status = new
            project.archived_at = self.clock.now() if new == ProjectStatus.ARCHIVED else None
            project.updated_at = self.clock.now()
            self.projects.save(project)
            record_audit("project.status", "project", project.id,
                         changes={"status": {"before": before, "after": new.value}})
        return project

    def delete(self, project_id: Any) -> Project:
        """To the trash: hidden at once, restorable for 30 days."""
        with self.repos.transaction():
            project = self.get(project_id, "can_delete")
            project.deleted_at = self.clock.now()
            self.projects.save(project)
            record_audit("project.delete", "project", project.id)
        return project

    def restore(self, project_id: Any) -> Project:
        """:raises NotFoundError: for a project not in the trash, or there past 30 days."""
        with self.repos.transaction():
            key = _uuid(project_id)
            project = self.projects.in_trash(key) if key else None
            if project is None or project.deleted_at < self.clock.now() - timedelta(days=RESTORE_DAYS):
                raise NotFoundError(f"No project with id {project_id} in the trash.", {"id": str(project_id)})
            project_access(project, self.principal, "can_delete")
            if project.status == ProjectStatus.ACTIVE:
                self._check_limit(project.user_id)
            project.deleted_at = None
            project.updated_at = self.clock.now()
            self.projects.save(project)
            record_audit("project.restore", "project", project.id)
        return project


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None

