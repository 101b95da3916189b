"""Who is making the current request, in which tenant, with which role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import g, has_app_context

from ..errors import ForbiddenError, UnauthorizedError
from ..models import Role, User
from .permissions import allowed


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    :param user: the person (for an API key, the person who created it, if still there).
    :param tenant_id: the tenant every tenant-aware query of this request is scoped to.
    :param role: what the caller may do in that tenant.
    :param via: ``session`` (browser), ``token`` (API sign-in) or ``api_key``.
    :param credential_id: the auth session or API key used.
    """

    user: User | None
    tenant_id: uuid.UUID
    role: Role
    via: str
    credential_id: uuid.UUID | None = None

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.user.id if self.user is not None else None

    def can(self, resource: str, action: str) -> bool:
        return allowed(self.role, resource, action)

    def require(self, resource: str, action: str) -> None:
        """:raises ForbiddenError: when the role does not allow ``action`` on ``resource``."""
        if not self.can(resource, action):
            raise ForbiddenError(
                f"Your role ({self.role.value}) may not {action} {resource.replace('_', ' ')}.",
                {"resource": resource, "action": action, "role": self.role.value},
            )


def set_principal(principal: Principal | None) -> None:
    g.inkwright_principal = principal


def optional_principal() -> Principal | None:
    if not has_app_context():
        return None
    return g.get("inkwright_principal")


def current_principal() -> Principal:
    """The caller of this request.

    :raises UnauthorizedError: when the request is not authenticated.
    """
    principal = optional_principal()
    if principal is None:
        raise UnauthorizedError()
    return principal
