"""The audit log over JSON: a tenant's owners and admins read their tenant's entries;
platform administrators read every tenant's (seed 003 table 12, issue 14).

There is no write, change or delete here: entries are appended only by the services whose
changes they record (:mod:`app.audit`).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..auth.principal import Principal, current_principal
from ..errors import ForbiddenError, NotFoundError
from ..models import Role
from ..repositories import Repositories, as_uuid
from ..repositories.audit_log import AuditFilter, AuditLogRepository, AuditPage, PlatformAuditLog
from ..runtime import repositories
from ..schemas.account import end_of, start_of
from ..schemas.audit_log import AuditEntrySchema, AuditQuerySchema
from ..schemas.base import page_of
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("audit_log", __name__, url_prefix="/api/audit-log",
                        description="Who did what: the tenant's audit log (owners, admins, platform administrators)")


def reads_every_tenant(principal: Principal) -> bool:
    """Whether the caller is a platform administrator in person: an API key acts for its
    tenant alone, whoever made it."""
    return principal.via != "api_key" and principal.user is not None and bool(principal.user.is_platform_admin)


def may_read_audit_log(principal: Principal | None) -> bool:
    """Owners and admins read their tenant's log; platform administrators every tenant's."""
    return principal is not None and (principal.role.at_least(Role.ADMIN) or reads_every_tenant(principal))


def audit_page(repos: Repositories, principal: Principal, query: Mapping[str, Any]) -> AuditPage:
    """The page of the audit log the caller asked for and may read.

    :param query: what :class:`AuditQuerySchema` loads (``limit``, ``offset`` and the filters).
    :raises ForbiddenError: for members and viewers.
    :raises NotFoundError: for ``tenant_id`` of another tenant, unless a platform administrator asks.
    """
    audit_filter = AuditFilter(
        user_id=query.get("user_id"), action=query.get("action"), entity_type=query.get("entity_type"),
        entity_id=query.get("entity_id"), since=start_of(query.get("since")), until=end_of(query.get("until")),
        tenant_id=as_uuid(query.get("tenant_id")),
    )
    limit, offset = query["limit"], query["offset"]
    if reads_every_tenant(principal):
        return repos.get(PlatformAuditLog).search(audit_filter, limit=limit, offset=offset)
    if audit_filter.tenant_id is not None and audit_filter.tenant_id != principal.tenant_id:
        # Another tenant's log is simply not here, as every other tenant's data is not.
        raise NotFoundError(f"No tenant with id {audit_filter.tenant_id} here.",
                            {"tenantId": str(audit_filter.tenant_id)})
    if not principal.role.at_least(Role.ADMIN):
        raise ForbiddenError(
            f"Your role ({principal.role.value}) may not read the audit log; owners and admins may.",
            {"resource": "audit_log", "action": "read", "role": principal.role.value})
    return repos.for_tenant(principal.tenant_id).get(AuditLogRepository).search(audit_filter, limit=limit,
                                                                                 offset=offset)


@blp.route("")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, page_of(AuditEntrySchema))
def list_audit_log(query: dict[str, Any]):
    """The tenant's audit log, newest first: filter by ``userId``, ``action``, ``entityType``,
    ``entityId`` and a ``from``/``to`` range. Owners and admins only; platform administrators
    read every tenant's (``tenantId`` narrows it to one)."""
    page = audit_page(repositories(), current_principal(), query)
    return {"items": page.items, "total": page.total, "limit": query["limit"], "offset": query["offset"]}
