"""Who may do what to a project: the one check every page, API call and git request makes.

The seed's permission keys (``can_read`` ... ``can_manage_settings``). Until per-project
collaborators exist (issue 16), a project's owner holds every permission and so do the
tenant's owners and admins; other members may read and view stats; nobody else reaches the
project at all (the repository scope already hides other tenants' projects).
"""

from __future__ import annotations

from typing import Any

from app.toolkit import ForbiddenError

from .models import Project

PERMISSIONS = ("can_read", "can_write", "can_delete", "can_invite", "can_run_agents", "can_view_stats",
               "can_export", "can_manage_settings")
MEMBER_PERMISSIONS = frozenset({"can_read", "can_view_stats"})
MANAGING_ROLES = frozenset({"owner", "admin"})


def permissions_of(project: Project, principal: Any) -> frozenset[str]:
    if principal is None:
        return frozenset()
    role = getattr(getattr(principal, "role", None), "value", getattr(principal, "role", None))
    if role == "viewer":
        # A read-only credential reads, whoever made it: the owner's viewer key included.
        return MEMBER_PERMISSIONS
    if principal.user_id is not None and principal.user_id == project.user_id:
        return frozenset(PERMISSIONS)
    if role in MANAGING_ROLES:
        return frozenset(PERMISSIONS)
    return MEMBER_PERMISSIONS


def may(project: Project, principal: Any, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise ValueError(f"{permission!r} is not one of the seed's permissions")
    return permission in permissions_of(project, principal)


def project_access(project: Project, principal: Any, permission: str) -> None:
    """:raises ForbiddenError: when ``principal`` may not do ``permission`` on the project."""
    if not may(project, principal, permission):
        raise ForbiddenError(f"You may not do this to the project {project.name} ({permission}).",
                             {"permission": permission})
