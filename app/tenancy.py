"""Tenants and their members: who may see, add, re-role or remove whom.

A tenant the caller does not belong to is reported as not found, never as forbidden, so
ids of other tenants leak nothing (DESIGN.md, "What bad input gets").
"""

from __future__ import annotations

from typing import Any

from . import audit
from .auth.principal import Principal
from .errors import ConflictError, ForbiddenError, NotFoundError
from .events import DomainEvent
from .models import Membership, Role, Tenant, TenantKind, User
from .repositories import Repositories


def member_view(membership: Membership, user: User) -> dict[str, Any]:
    return {"id": membership.id, "user_id": user.id, "email": user.email, "name": user.name,
            "role": membership.role, "created_at": membership.created_at}


class TenancyService:
    def __init__(self, repos: Repositories, principal: Principal) -> None:
        self.repos = repos
        self.principal = principal

    def my_tenants(self) -> list[tuple[Tenant, Role]]:
        # An API key sees only its own tenant, with the key's role. Its principal carries the
        # person who created it (for attribution), so test ``via``, not ``user is None``:
        # otherwise a key reached the creator's other tenants with the creator's role.
        if self.principal.user is None or self.principal.via == "api_key":
            return [(self.repos.tenants.require(self.principal.tenant_id), self.principal.role)]
        return self.repos.tenants.for_user(self.principal.user.id)

    def visible_tenant(self, tenant_id: Any) -> tuple[Tenant, Role]:
        """The tenant and the caller's role in it.

        :raises NotFoundError: when the caller is not a member (or it does not exist).
        """
        for tenant, role in self.my_tenants():
            if str(tenant.id) == str(tenant_id):
                return tenant, role
        raise NotFoundError(f"No tenant with id {tenant_id} here.", {"id": str(tenant_id)})

    def _scoped(self, tenant_id: Any, action: str) -> tuple[Repositories, Role]:
        tenant, role = self.visible_tenant(tenant_id)
        acting = Principal(self.principal.user, tenant.id, role, self.principal.via, self.principal.credential_id)
        acting.require("members", action)
        return self.repos.for_tenant(tenant.id), role

    def create_organisation(self, name: str) -> tuple[Tenant, Role]:
        if self.principal.user is None or self.principal.via == "api_key":
            raise ForbiddenError("An API key cannot create tenants; sign in as a person.")
        with self.repos.transaction() as tx:
            tenant = self.repos.tenants.add(Tenant(
                name=name.strip(), slug=self.repos.tenants.unique_slug(name), kind=TenantKind.ORGANISATION,
            ))
            self.repos.for_tenant(tenant.id).memberships.add(
                Membership(user_id=self.principal.user.id, role=Role.OWNER))
            tx.publish(DomainEvent("tenant.created", str(tenant.id), {"tenantId": str(tenant.id), "name": tenant.name},
                                   tenant_id=tenant.id, actor_id=self.principal.user.id))
        return tenant, Role.OWNER

    def members(self, tenant_id: Any) -> list[dict[str, Any]]:
        scoped, _role = self._scoped(tenant_id, "read")
        return [member_view(m, u) for m, u in scoped.memberships.with_users()]

    def add_member(self, tenant_id: Any, email: str, role: Role) -> dict[str, Any]:
        scoped, acting_role = self._scoped(tenant_id, "invite")
        self._check_can_grant(acting_role, role)
        user = self.repos.users.find_by_email(email)
        if user is None:
            raise NotFoundError("No account uses that email; ask them to register first.",
                                {"fields": {"email": ["No such account."]}})
        if scoped.memberships.for_user(user.id) is not None:
            raise ConflictError("That account is already a member.", {"fields": {"email": ["Already a member."]}})
        with scoped.transaction() as tx:
            membership = scoped.memberships.add(Membership(user_id=user.id, role=role,
                                                           invited_by_user_id=self.principal.user_id))
            tx.publish(DomainEvent("membership.created", str(membership.id),
                                   {"userId": str(user.id), "role": role.value},
                                   tenant_id=scoped.tenant_id, actor_id=self.principal.user_id))
            audit.record(scoped, "member.add", "membership", membership.id, actor_id=self.principal.user_id,
                         metadata={"user_id": user.id, "email": user.email, "role": role})
        return member_view(membership, user)

    def change_role(self, tenant_id: Any, membership_id: Any, role: Role) -> dict[str, Any]:
        scoped, acting_role = self._scoped(tenant_id, "update")
        membership = scoped.memberships.require(membership_id)
        self._check_can_grant(acting_role, role)
        self._check_can_grant(acting_role, membership.role)
        if membership.role == Role.OWNER and role != Role.OWNER:
            self._keep_an_owner(scoped)
        with scoped.transaction() as tx:
            audit.record(scoped, "member.role_change", "membership", membership.id, actor_id=self.principal.user_id,
                         changes=audit.changed({"role": membership.role.value}, {"role": role.value}),
                         metadata={"user_id": membership.user_id})
            membership.role = role
            scoped.memberships.save(membership)
            tx.publish(DomainEvent("membership.updated", str(membership.id), {"role": role.value},
                                   tenant_id=scoped.tenant_id, actor_id=self.principal.user_id))
        return member_view(membership, self.repos.users.require(membership.user_id))

    def remove_member(self, tenant_id: Any, membership_id: Any) -> None:
        scoped, acting_role = self._scoped(tenant_id, "remove")
        membership = scoped.memberships.require(membership_id)
        self._check_can_grant(acting_role, membership.role)
        if membership.role == Role.OWNER:
            self._keep_an_owner(scoped)
        with scoped.transaction() as tx:
            audit.record(scoped, "member.remove", "membership", membership.id, actor_id=self.principal.user_id,
                         metadata={"user_id": membership.user_id, "role": membership.role})
            scoped.memberships.delete(membership)
            tx.publish(DomainEvent("membership.removed", str(membership.id), {"userId": str(membership.user_id)},
                                   tenant_id=scoped.tenant_id, actor_id=self.principal.user_id))

    @staticmethod
    def _check_can_grant(acting: Role, role: Role) -> None:
        if not acting.at_least(role):
            raise ForbiddenError(f"A {acting.value} cannot manage {role.value} memberships.",
                                {"fields": {"role": [f"At most {acting.value}."]}})

    @staticmethod
    def _keep_an_owner(scoped: Repositories) -> None:
        if scoped.memberships.count_owners() <= 1:
            raise ConflictError("A tenant must keep at least one owner; make someone else owner first.")
