"""app/repositories/tenants.py: slugs, a user's tenants and roles, and memberships."""

from __future__ import annotations

import uuid

import pytest

from app.errors import RepositoryError
from app.models import Membership, Role, Tenant, TenantKind
from app.repositories.tenants import slugify
from app.runtime import repositories


def add_organisation(app, name: str, members: dict) -> uuid.UUID:
    """Commit an organisation with the given ``{user_id: role}`` memberships; return its id."""
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            tenant = repos.tenants.add(Tenant(name=name, slug=repos.tenants.unique_slug(name),
                                              kind=TenantKind.ORGANISATION))
            scoped = repos.for_tenant(tenant.id)
            for user_id, role in members.items():
                scoped.memberships.add(Membership(user_id=user_id, role=role))
        return tenant.id


@pytest.mark.parametrize("name, slug", [
    ("Ada's Studio", "ada-s-studio"), ("  Ünïcode & Co. ", "n-code-co"), ("!!!", "tenant"), ("x" * 80, "x" * 60),
])
def test_slugify_keeps_urls_readable(name, slug):
    assert slugify(name) == slug


def test_unique_slug_adds_a_suffix_only_when_taken(app):
    add_organisation(app, "Night Owls", {})

    with app.app_context():
        tenants = repositories().tenants
        assert tenants.unique_slug("Early Birds") == "early-birds"
        taken = tenants.unique_slug("Night Owls")
    assert taken.startswith("night-owls-") and taken != "night-owls"


def test_for_user_lists_each_tenant_with_the_users_role_oldest_first(app, two_tenants):
    ada, bob = two_tenants
    organisation_id = add_organisation(app, "Night Owls", {bob.user.id: Role.OWNER, ada.user.id: Role.VIEWER})

    with app.app_context():
        listed = [(tenant.id, role) for tenant, role in repositories().tenants.for_user(ada.user.id)]
    assert listed == [(ada.tenant_id, Role.OWNER), (organisation_id, Role.VIEWER)]


def test_role_of_answers_none_for_strangers_bad_ids_and_deleted_tenants(app, two_tenants):
    ada, bob = two_tenants

    with app.app_context():
        tenants = repositories().tenants
        assert tenants.role_of(ada.user.id, ada.tenant_id) == Role.OWNER
        assert tenants.role_of(ada.user.id, str(ada.tenant_id)) == Role.OWNER
        assert tenants.role_of(ada.user.id, bob.tenant_id) is None
        assert tenants.role_of(ada.user.id, "not-a-uuid") is None

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.tenants.delete(repos.tenants.get(ada.tenant_id))
    with app.app_context():
        assert repositories().tenants.role_of(ada.user.id, ada.tenant_id) is None


def test_memberships_count_owners_and_list_live_members(app, make_user):
    ada, bob, cy = make_user(name="Ada"), make_user(name="Bob"), make_user(name="Cy")
    organisation_id = add_organisation(app, "Night Owls",
                                     {ada.user.id: Role.OWNER, bob.user.id: Role.OWNER, cy.user.id: Role.MEMBER})
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.users.delete(repos.users.get(cy.user.id))

    with app.app_context():
        memberships = repositories().for_tenant(organisation_id).memberships
        assert memberships.count_owners() == 2
        assert memberships.for_user(bob.user.id).role == Role.OWNER
        assert memberships.for_user(cy.user.id).role == Role.MEMBER  # the row remains
        assert [user.name for _membership, user in memberships.with_users()] == ["Ada", "Bob"]


def test_a_user_is_a_member_of_a_tenant_only_once(app, user, row_count):
    with app.app_context():
        scoped = repositories().for_tenant(user.tenant_id)
        with pytest.raises(RepositoryError) as raised, scoped.transaction():
            scoped.memberships.add(Membership(user_id=user.user.id, role=Role.VIEWER))
    assert (raised.value.operation, raised.value.entity) == ("add", "Membership")
    assert row_count(Membership) == 1
