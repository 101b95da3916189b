"""Who is making the current request, in which tenant, with which role."""

from __future__ import annotations

import uuid

from flask import g, has_app_context

from ..errors import ForbiddenError, UnauthorizedError
from ..models import Role, User
from .permissions import allowed

_UNLOADED = object()


class Principal:
    """An authenticated caller; immutable once made.

    :param user: the person (for an API key, the person who created it, if still there).
    :param tenant_id: the tenant every tenant-aware query of this request is scoped to.
    :param role: what the caller may do in that tenant.
    :param via: ``session`` (browser), ``token`` (API sign-in) or ``api_key``.
    :param credential_id: the auth session or API key used.
    :param user_id: instead of ``user``: the person's id, their account loaded only if a view
        asks for it (most API requests need the id alone, for attribution).
    """

    __slots__ = ("tenant_id", "role", "via", "credential_id", "_user", "_user_id")

    def __init__(self, user: User | None, tenant_id: uuid.UUID, role: Role, via: str,
                 credential_id: uuid.UUID | None = None, *, user_id: uuid.UUID | None = None) -> None:
        for name, value in (("tenant_id", tenant_id), ("role", role), ("via", via), ("credential_id", credential_id),
                            ("_user", _UNLOADED if user is None and user_id is not None else user),
                            ("_user_id", user.id if user is not None else user_id)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Principal does not change")

    def __repr__(self) -> str:
        return (f"Principal(user_id={self._user_id}, tenant_id={self.tenant_id}, role={self.role.value}, "
                f"via={self.via!r})")

    @property
    def user(self) -> User | None:
        if self._user is _UNLOADED:
            from ..runtime import repositories  # the request's repositories; runtime imports auth

            object.__setattr__(self, "_user", repositories().users.get(self._user_id))
        return self._user

    @property
    def user_id(self) -> uuid.UUID | None:
        return self._user_id

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
