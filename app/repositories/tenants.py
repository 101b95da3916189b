"""Tenants and memberships."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from ..models import Membership, Role, Tenant, TenantKind, User
from .base import Repository, ScopedRepository, SystemRepository, as_uuid, operation


@dataclass(frozen=True)
class TenantInfo:
    """What hot paths need of a tenant, as a plain value safe to cache across sessions."""

    id: uuid.UUID
    name: str
    slug: str
    kind: TenantKind


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60] or "tenant"


class TenantRepository(Repository[Tenant]):
    model = Tenant

    @operation
    def info(self, tenant_id: uuid.UUID) -> TenantInfo | None:
        def load() -> TenantInfo | None:
            tenant = self.get(tenant_id)
            return tenant and TenantInfo(tenant.id, tenant.name, tenant.slug, tenant.kind)

        # Keyed by the UUID, so an id given as text is found and forgotten alike.
        return self.cache.get_or_load(("Tenant.info", as_uuid(tenant_id)), load)

    @operation
    def unique_slug(self, name: str) -> str:
        base = slugify(name)
        slug = base
        while self.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            slug = f"{base}-{secrets.token_hex(3)}"
        return slug

    @operation
    def for_user(self, user_id: uuid.UUID) -> list[tuple[Tenant, Role]]:
        """Every tenant the user belongs to, with the user's role there, oldest first."""
        return MembershipLocator(self.session, metrics=self.metrics, cache=self.cache).tenants_of(user_id)

    @operation
    def role_of(self, user_id: uuid.UUID, tenant_id: object) -> Role | None:
        """The user's role in a tenant, or ``None`` when not a member (or no such tenant)."""
        key = as_uuid(tenant_id)
        if key is None:
            return None
        memberships = MembershipRepository(self.session, tenant_id=key, metrics=self.metrics, cache=self.cache)
        return memberships.role_of(user_id)

    def forget(self, tenant_id: uuid.UUID) -> None:
        self.cache.invalidate(("Tenant.info", as_uuid(tenant_id)))

    # Writes invalidate their own cached info (RepositoryCache's promise), so a renamed or
    # deleted tenant is not served stale here; e.g. a deleted tenant's API keys stop at once.
    def save(self, instance: Tenant) -> Tenant:
        self.forget(instance.id)
        return super().save(instance)

    def delete(self, instance: Tenant) -> None:
        self.forget(instance.id)
        super().delete(instance)


class MembershipRepository(ScopedRepository[Membership]):
    model = Membership

    @operation
    def for_user(self, user_id: uuid.UUID) -> Membership | None:
        return self.session.scalars(self.select(Membership.user_id == user_id)).first()

    @operation
    def role_of(self, user_id: uuid.UUID) -> Role | None:
        """The user's role in this tenant, or ``None`` when not a member (or the tenant is deleted)."""
        statement = (self.core_select(Membership.role).join(Tenant, Tenant.id == Membership.tenant_id)
                     .where(Membership.user_id == user_id, Tenant.deleted_at.is_(None)))
        return self.session.scalar(statement)

    @operation
    def count_owners(self) -> int:
        return self.count(Membership.role == Role.OWNER)

    @operation
    def with_users(self) -> list[tuple[Membership, User]]:
        """Every member of the tenant with their account, oldest membership first."""
        statement = (
            self.select().join(User, User.id == Membership.user_id)
            .where(User.deleted_at.is_(None)).add_columns(User).order_by(Membership.created_at)
        )
        return [(membership, user) for membership, user in self.session.execute(statement)]


class MembershipLocator(SystemRepository[Membership]):
    """A person's memberships in every tenant.

    System scope: choosing a tenant to act in (sign-in, the tenant switcher, ``GET
    /api/tenants``) starts from the person, before any tenant is chosen.
    """

    model = Membership

    @operation
    def tenants_of(self, user_id: uuid.UUID) -> list[tuple[Tenant, Role]]:
        """Every live tenant the user belongs to, with the user's role there, oldest membership first."""
        statement = (
            select(Tenant).where(Tenant.deleted_at.is_(None))
            .join(Membership, Membership.tenant_id == Tenant.id)
            .where(Membership.user_id == user_id)
            .add_columns(Membership.role)
            .order_by(Membership.created_at)
        )
        return [(tenant, role) for tenant, role in self.session.execute(statement)]
