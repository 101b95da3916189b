"""The caller, their tenants, and the members of a tenant."""

from __future__ import annotations

from typing import Any

from ..auth.permissions import permissions_of
from ..auth.principal import Principal, current_principal
from ..schemas.base import OkSchema
from ..schemas.tenancy import (
    MembershipCreateSchema,
    MembershipSchema,
    MembershipUpdateSchema,
    MeSchema,
    TenantCreateSchema,
    TenantSchema,
)
from ..runtime import repositories
from ..tenancy import TenancyService
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("tenancy", __name__, url_prefix="/api", description="The caller, tenants and members")


def tenancy() -> TenancyService:
    return TenancyService(repositories(), current_principal())


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """Who you are, the tenant this request acts in, your role and permissions there."""
    principal: Principal = current_principal()
    tenant = repositories().tenants.require(principal.tenant_id)
    return {
        "user": principal.user, "tenant": {**_tenant(tenant), "role": principal.role}, "role": principal.role,
        "via": principal.via, "permissions": permissions_of(principal.role),
    }


def _tenant(tenant: Any, role: Any = None) -> dict:
    body = {"id": tenant.id, "name": tenant.name, "slug": tenant.slug, "kind": tenant.kind,
            "created_at": tenant.created_at}
    if role is not None:
        body["role"] = role
    return body


@blp.route("/tenants")
@blp.response(200, TenantSchema(many=True))
def list_tenants():
    """Every tenant you belong to, with your role in each."""
    return [_tenant(tenant, role) for tenant, role in tenancy().my_tenants()]


@blp.route("/tenants", methods=["POST"])
@blp.arguments(TenantCreateSchema)
@blp.response(201, TenantSchema)
def create_tenant(body: dict):
    """Create an organisation tenant, with you as its owner."""
    tenant, role = tenancy().create_organisation(body["name"])
    return _tenant(tenant, role)


@blp.route("/tenants/<tenant_id>")
@blp.response(200, TenantSchema)
def get_tenant(tenant_id: str):
    """One tenant you belong to (404 for any other)."""
    tenant, role = tenancy().visible_tenant(tenant_id)
    return _tenant(tenant, role)


@blp.route("/tenants/<tenant_id>/members")
@blp.response(200, MembershipSchema(many=True))
def list_members(tenant_id: str):
    """The members of a tenant you belong to."""
    return tenancy().members(tenant_id)


@blp.route("/tenants/<tenant_id>/members", methods=["POST"])
@blp.arguments(MembershipCreateSchema)
@blp.response(201, MembershipSchema)
def add_member(body: dict, tenant_id: str):
    """Add an existing account to the tenant with a role (owners and admins)."""
    return tenancy().add_member(tenant_id, body["email"], body["role"])


@blp.route("/tenants/<tenant_id>/members/<membership_id>", methods=["PATCH"])
@blp.arguments(MembershipUpdateSchema)
@blp.response(200, MembershipSchema)
def update_member(body: dict, tenant_id: str, membership_id: str):
    """Change a member's role; a tenant always keeps at least one owner."""
    return tenancy().change_role(tenant_id, membership_id, body["role"])


@blp.route("/tenants/<tenant_id>/members/<membership_id>", methods=["DELETE"])
@blp.response(200, OkSchema)
def remove_member(tenant_id: str, membership_id: str):
    """Remove a member; a tenant always keeps at least one owner."""
    tenancy().remove_member(tenant_id, membership_id)
    return {"success": True}
