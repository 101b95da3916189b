"""app/tenancy.py: who may see a tenant, and who may add, re-role or remove its members."""

from __future__ import annotations

import uuid

import pytest

from app.auth.principal import Principal
from app.errors import ConflictError, ForbiddenError, NotFoundError
from app.models import DomainEventRecord, Membership, Role, TenantKind
from app.runtime import repositories
from app.tenancy import TenancyService


@pytest.fixture
def crew(app, make_user) -> dict:
    """An organisation whose members hold every role, plus an outsider: name → account."""
    people = {name: make_user(name=name.title()) for name in ("owner", "admin", "member", "viewer", "outsider")}
    with app.app_context():
        repos = repositories()
        founder = Principal(repos.users.get(people["owner"].user.id), people["owner"].tenant_id, Role.OWNER, "token")
        tenant, _role = TenancyService(repos, founder).create_organisation("Night Owls")
        scoped = repos.for_tenant(tenant.id)
        with scoped.transaction():
            for name in ("admin", "member", "viewer"):
                scoped.memberships.add(Membership(user_id=people[name].user.id, role=Role(name)))
        people["tenant_id"] = tenant.id
    return people


def act(app, crew, name: str, method: str, *args):
    """Call a TenancyService method as one of the crew, acting from their personal tenant."""
    account = crew[name]
    with app.app_context():
        repos = repositories()
        principal = Principal(repos.users.get(account.user.id), account.tenant_id, Role.OWNER, "token")
        return getattr(TenancyService(repos, principal), method)(*args)


def membership_of(app, crew, name: str) -> Membership | None:
    with app.app_context():
        return repositories().for_tenant(crew["tenant_id"]).memberships.for_user(crew[name].user.id)


def roles(app, crew) -> dict[str, str]:
    return {member["name"].lower(): member["role"].value for member in act(app, crew, "owner", "members",
                                                                             crew["tenant_id"])}


def test_creating_an_organisation_makes_the_creator_its_owner(app, crew):
    listed = act(app, crew, "owner", "my_tenants")

    assert [(tenant.kind, role) for tenant, role in listed] == [
        (TenantKind.PERSONAL, Role.OWNER), (TenantKind.ORGANISATION, Role.OWNER)]
    assert roles(app, crew) == {"owner": "owner", "admin": "admin", "member": "member", "viewer": "viewer"}


def test_an_api_key_cannot_create_organisations(app, user):
    with app.app_context():
        key = Principal(None, user.tenant_id, Role.OWNER, "api_key")
        with pytest.raises(ForbiddenError):
            TenancyService(repositories(), key).create_organisation("Robots Inc")


def test_an_api_key_sees_only_its_own_tenant(app, crew):
    with app.app_context():
        key = Principal(None, crew["tenant_id"], Role.MEMBER, "api_key")
        [(tenant, role)] = TenancyService(repositories(), key).my_tenants()
    assert (tenant.id, role) == (crew["tenant_id"], Role.MEMBER)


@pytest.mark.parametrize("tenant_id", ["organisation", "personal", uuid.UUID(int=7), "not-a-uuid"])
def test_a_tenant_the_caller_is_not_in_is_not_found(app, crew, tenant_id):
    tenant_id = {"organisation": crew["tenant_id"], "personal": crew["owner"].tenant_id}.get(tenant_id, tenant_id)

    with pytest.raises(NotFoundError) as raised:
        act(app, crew, "outsider", "visible_tenant", tenant_id)
    assert raised.value.status_code == 404
    with pytest.raises(NotFoundError):
        act(app, crew, "outsider", "members", tenant_id)


def test_a_member_sees_the_tenant_with_their_role(app, crew):
    tenant, role = act(app, crew, "viewer", "visible_tenant", str(crew["tenant_id"]))

    assert (tenant.name, role) == ("Night Owls", Role.VIEWER)


def test_adding_a_member_records_an_event(app, crew):
    added = act(app, crew, "admin", "add_member", crew["tenant_id"], crew["outsider"].email, Role.MEMBER)

    assert (added["email"], added["role"]) == (crew["outsider"].email, Role.MEMBER)
    assert membership_of(app, crew, "outsider").invited_by_user_id == crew["admin"].user.id
    with app.app_context():
        [event] = repositories().for_tenant(crew["tenant_id"]).events.list(
            DomainEventRecord.type == "membership.created")
    assert event.payload == {"userId": str(crew["outsider"].user.id), "role": "member"}


@pytest.mark.parametrize("actor, role, error", [
    ("member", Role.VIEWER, ForbiddenError),  # members may not invite at all
    ("viewer", Role.VIEWER, ForbiddenError),
    ("admin", Role.OWNER, ForbiddenError),  # no one grants more than they hold
])
def test_adding_members_is_limited_by_role(app, crew, actor, role, error):
    with pytest.raises(error):
        act(app, crew, actor, "add_member", crew["tenant_id"], crew["outsider"].email, role)
    assert membership_of(app, crew, "outsider") is None


def test_adding_an_unknown_email_or_an_existing_member_is_refused(app, crew):
    with pytest.raises(NotFoundError) as raised:
        act(app, crew, "owner", "add_member", crew["tenant_id"], "nobody@example.com", Role.MEMBER)
    assert raised.value.details == {"fields": {"email": ["No such account."]}}
    with pytest.raises(ConflictError):
        act(app, crew, "owner", "add_member", crew["tenant_id"], crew["viewer"].email, Role.MEMBER)
    assert membership_of(app, crew, "viewer").role == Role.VIEWER


def test_the_only_owner_can_neither_step_down_nor_be_removed(app, crew):
    owner_membership = membership_of(app, crew, "owner").id

    with pytest.raises(ConflictError):
        act(app, crew, "owner", "change_role", crew["tenant_id"], owner_membership, Role.ADMIN)
    with pytest.raises(ConflictError):
        act(app, crew, "owner", "remove_member", crew["tenant_id"], owner_membership)
    assert roles(app, crew)["owner"] == "owner"


def test_with_a_second_owner_the_first_may_step_down(app, crew):
    act(app, crew, "owner", "change_role", crew["tenant_id"], membership_of(app, crew, "admin").id, Role.OWNER)

    act(app, crew, "owner", "change_role", crew["tenant_id"], membership_of(app, crew, "owner").id, Role.MEMBER)

    assert roles(app, crew)["owner"] == "member"
    assert roles(app, crew)["admin"] == "owner"


@pytest.mark.parametrize("target, role", [
    ("owner", Role.ADMIN),  # an admin cannot touch an owner's membership
    ("member", Role.OWNER),  # nor make anyone an owner
])
def test_an_admin_cannot_change_roles_beyond_their_own(app, crew, target, role):
    with pytest.raises(ForbiddenError):
        act(app, crew, "admin", "change_role", crew["tenant_id"], membership_of(app, crew, target).id, role)
    assert roles(app, crew)[target] == target


def test_an_admin_may_promote_a_member_to_admin(app, crew):
    act(app, crew, "admin", "change_role", crew["tenant_id"], membership_of(app, crew, "member").id, Role.ADMIN)

    assert roles(app, crew)["member"] == "admin"


def test_an_admin_cannot_remove_an_owner_but_can_remove_a_viewer(app, crew):
    with pytest.raises(ForbiddenError):
        act(app, crew, "admin", "remove_member", crew["tenant_id"], membership_of(app, crew, "owner").id)

    act(app, crew, "admin", "remove_member", crew["tenant_id"], membership_of(app, crew, "viewer").id)

    assert set(roles(app, crew)) == {"owner", "admin", "member"}


def test_a_membership_of_another_tenant_is_not_found(app, crew):
    foreign = act(app, crew, "outsider", "members", crew["outsider"].tenant_id)[0]["id"]

    with pytest.raises(NotFoundError):
        act(app, crew, "owner", "remove_member", crew["tenant_id"], foreign)
    with pytest.raises(NotFoundError):
        act(app, crew, "owner", "change_role", crew["tenant_id"], foreign, Role.VIEWER)
    assert act(app, crew, "outsider", "members", crew["outsider"].tenant_id)[0]["role"] == Role.OWNER
