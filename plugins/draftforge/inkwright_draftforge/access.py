"""Who may do what to a project: the one check every page, API call and git request makes.

The seed's permission keys (``can_read`` ... ``can_manage_settings``), from, in order:

* a read-only key (a viewer's API key, whoever made it) reads and views stats, no more;
* the project's owner, and the tenant's owners and admins, hold every permission;
* a collaborator (accepted, not removed) holds their row's permissions: their role's
  defaults as overridden by whoever manages the project's settings (seed table 7);
* any other member of the tenant reads and views stats — a guest of the tenant (someone let
  in for another project) gets nothing;
* beyond them, visibility: ``unlisted`` lets any signed-in person with the link read,
  ``public`` lets anyone read and clone. Nobody else writes.

A person who may not even read is told the project is not found, as for another tenant's:
removing a collaborator makes the project vanish for them, not turn into a 403.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, has_request_context

from app.toolkit import ForbiddenError, NotFoundError, current_state, repositories

from .models import Collaborator, CollaboratorRole, Project, Visibility
from .repositories import CollaboratorRepository

PERMISSIONS = ("can_read", "can_write", "can_delete", "can_invite", "can_run_agents", "can_view_stats",
               "can_export", "can_manage_settings")
MEMBER_PERMISSIONS = frozenset({"can_read", "can_view_stats"})
MANAGING_ROLES = frozenset({"owner", "admin"})

#: Seed table 7's defaults by role; the reviewer's is the seed's own example.
ROLE_DEFAULTS: dict[CollaboratorRole, frozenset[str]] = {
    CollaboratorRole.OWNER: frozenset(PERMISSIONS),
    CollaboratorRole.EDITOR: frozenset({"can_read", "can_write", "can_run_agents", "can_view_stats", "can_export"}),
    CollaboratorRole.REVIEWER: frozenset({"can_read", "can_run_agents", "can_view_stats"}),
    CollaboratorRole.VIEWER: frozenset({"can_read", "can_view_stats"}),
}

#: ``last_accessed_at`` is written at most this often per collaborator.
ACCESS_STAMP_EVERY = timedelta(minutes=1)


def role_permissions(role: CollaboratorRole, overrides: dict[str, Any] | None = None) -> dict[str, bool]:
    """The seed's permissions object for a role, with ``overrides`` (``{key: bool}``) applied."""
    granted = {key: key in ROLE_DEFAULTS[role] for key in PERMISSIONS}
    granted.update({key: bool(value) for key, value in (overrides or {}).items() if key in granted})
    return granted


def _role_name(principal: Any) -> str | None:
    return getattr(getattr(principal, "role", None), "value", getattr(principal, "role", None))


def is_guest(principal: Any) -> bool:
    """Whether the caller is a guest of the tenant (let in for projects shared with them)."""
    return principal is not None and _role_name(principal) == "guest"


def _collaborator(project: Project, principal: Any) -> Collaborator | None:
    """The principal's part in the project, looked up once per request."""
    if principal.user_id is None or principal.tenant_id != project.tenant_id:
        return None
    cache = g.setdefault("draftforge_collaborators", {}) if has_request_context() else {}
    key = (project.id, principal.user_id)
    if key not in cache:
        cache[key] = repositories().get(CollaboratorRepository).active(project.id, principal.user_id)
    return cache[key]


def _granted(project: Project, principal: Any) -> frozenset[str]:
    role = _role_name(principal)
    in_tenant = principal.tenant_id == project.tenant_id
    if in_tenant and principal.user_id is not None and principal.user_id == project.user_id:
        return frozenset(PERMISSIONS)
    if in_tenant and role in MANAGING_ROLES:
        return frozenset(PERMISSIONS)
    row = _collaborator(project, principal)
    if row is not None:
        return frozenset(key for key, value in role_permissions(row.role, row.permissions).items() if value)
    if in_tenant and role not in (None, "guest"):
        return MEMBER_PERMISSIONS
    return frozenset()


def permissions_of(project: Project, principal: Any) -> frozenset[str]:
    granted = frozenset() if principal is None else _granted(project, principal)
    if principal is not None and _role_name(principal) == "viewer" and getattr(principal, "via", None) == "api_key":
        # A read-only key reads, whoever made it: the owner's viewer key included. (A person
        # whose membership is viewer's is given what their collaborator row says.)
        granted = granted & MEMBER_PERMISSIONS
    if project.visibility == Visibility.PUBLIC or (project.visibility == Visibility.UNLISTED and principal is not None):
        granted = granted | {"can_read"}
    return granted


def may(project: Project, principal: Any, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise ValueError(f"{permission!r} is not one of the seed's permissions")
    return permission in permissions_of(project, principal)


def project_access(project: Project, principal: Any, permission: str) -> None:
    """:raises NotFoundError: when ``principal`` may not even read the project;
    :raises ForbiddenError: when they may read it but not do ``permission``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"{permission!r} is not one of the seed's permissions")
    granted = permissions_of(project, principal)
    if "can_read" not in granted:
        raise NotFoundError(f"No project with id {project.id} here.", {"id": str(project.id)})
    if permission not in granted:
        raise ForbiddenError(f"You may not do this to the project {project.name} ({permission}).",
                             {"permission": permission})
    if principal is not None:
        stamp_access(project, principal)


def stamp_access(project: Project, principal: Any) -> None:
    """A collaborator's ``last_accessed_at``, at most once a minute (a page of a project
    asks several times; a busy writer's saves would otherwise write it on every request)."""
    row = _collaborator(project, principal)
    if row is None:
        return
    now = current_state().clock.now()
    if row.last_accessed_at is not None and now - row.last_accessed_at < ACCESS_STAMP_EVERY:
        return
    repos = repositories()
    with repos.transaction():
        row.last_accessed_at = now
        repos.get(CollaboratorRepository).save(row)
