"""Guests: people a tenant let in for one thing (a project shared with them), not as members.

A guest membership (``Role.GUEST``) is made by a plugin when someone accepts its invitation
(DraftForge's collaborators) and dropped when the last thing shared with them goes. The
tenant scope stays in the repository layer: a guest's requests are scoped to the tenant like
anyone's, and what they reach inside it is the plugin's to decide.

Secure by default, like :func:`app.api.blueprint.public`: a guest reaches an endpoint (JSON
or page) only when its view or its blueprint says guests are welcome, so a new tenant-wide
page (runs, workflows, members, keys of others) cannot leak to a guest by forgetting a check.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, TypeVar

from flask import Blueprint, current_app, request

from .errors import ForbiddenError
from .events import DomainEvent
from .models import ApiKey, ApiKeyStatus, Membership, Role, utcnow
from .repositories import Repositories

F = TypeVar("F", bound=Callable[..., Any])

GUESTS_ATTRIBUTE = "_inkwright_guests_welcome"
#: Blueprints every view of which welcomes guests (``app.extensions`` key).
WELCOMING_BLUEPRINTS = "inkwright_guest_blueprints"

#: Core endpoints a guest needs whatever they were invited to: who they are, their own
#: notifications, API keys (for git) and exports, switching tenants, signing out.
CORE_WELCOMING = ("account", "accounts", "auth", "notifications", "api_keys", "tenancy", "exports", "api-docs",
                  "probes")
CORE_PAGES = frozenset({"studio.switch_tenant", "studio.notifications", "studio.read_notification",
                        "studio.read_all_notifications", "studio.delete_notification", "studio.api_keys",
                        "studio.revoke_api_key", "studio.start_export", "studio.exports", "studio.export_page",
                        "studio.delete_export", "favicon"})


def welcome_guests(target: F) -> F:
    """Let a tenant's guests reach this view, or every view of this blueprint; the view must
    then decide itself what a guest may see (DraftForge: ``project_access``)."""
    if isinstance(target, Blueprint):
        target.record_once(lambda state: state.app.extensions.setdefault(WELCOMING_BLUEPRINTS, set())
                           .add(target.name))
        return target
    setattr(target, GUESTS_ATTRIBUTE, True)
    return target


def guests_welcome_at(endpoint: str | None) -> bool:
    if endpoint is None or endpoint == "static":
        return True
    view = current_app.view_functions.get(endpoint)
    if view is not None and getattr(view, GUESTS_ATTRIBUTE, False):
        return True
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else ""
    return blueprint in current_app.extensions.get(WELCOMING_BLUEPRINTS, set()) or \
        blueprint in CORE_WELCOMING or endpoint in CORE_PAGES


def refuse_guest_outside_welcome(principal: Any) -> None:
    """:raises ForbiddenError: for a guest on an endpoint that does not welcome guests."""
    if principal is None or principal.role != Role.GUEST or guests_welcome_at(request.endpoint):
        return
    raise ForbiddenError("You are a guest of this workspace: you reach only what was shared with you.",
                         {"role": Role.GUEST.value})


def admit_guest(repos: Repositories, tenant_id: uuid.UUID, user_id: uuid.UUID,
                invited_by: uuid.UUID | None = None) -> Membership:
    """The person's membership of the tenant, made a guest one if they had none (a member
    stays a member). In the caller's transaction."""
    scoped = repos.for_tenant(tenant_id)
    membership = scoped.memberships.for_user(user_id)
    if membership is not None:
        return membership
    membership = scoped.memberships.add(Membership(user_id=user_id, role=Role.GUEST, invited_by_user_id=invited_by))
    scoped.transaction().publish(DomainEvent("membership.created", str(membership.id),
                                             {"userId": str(user_id), "role": Role.GUEST.value},
                                             tenant_id=tenant_id, actor_id=user_id))
    return membership


def release_guest(repos: Repositories, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Drop the person's guest membership of the tenant (a member's stays); whether one went.
    The plugin calls it when the last thing shared with them is gone."""
    scoped = repos.for_tenant(tenant_id)
    membership = scoped.memberships.for_user(user_id)
    if membership is None or membership.role != Role.GUEST:
        return False
    scoped.memberships.delete(membership)
    scoped.transaction().publish(DomainEvent("membership.removed", str(membership.id), {"userId": str(user_id)},
                                             tenant_id=tenant_id))
    # The keys they made here (for git) go with them: a key outliving its maker's membership
    # would still open the tenant's welcoming endpoints.
    now = utcnow()
    for key in scoped.api_keys.list(ApiKey.created_by_user_id == user_id, ApiKey.status == ApiKeyStatus.ACTIVE):
        key.move_to(ApiKeyStatus.REVOKED)
        key.revoked_at = now
        scoped.api_keys.save(key)
    return True
