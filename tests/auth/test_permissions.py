"""app/auth/permissions.py and Principal.require: what each tenant role may do."""

from __future__ import annotations

import uuid

import pytest

from app.auth.permissions import allowed, permissions_of
from app.auth.principal import Principal
from app.errors import ForbiddenError
from app.models import Role


@pytest.mark.parametrize("role, resource, action, expected", [
    (Role.VIEWER, "tenant", "read", True),
    (Role.VIEWER, "members", "read", True),
    (Role.VIEWER, "events", "read", True),
    (Role.VIEWER, "stories", "read", True),
    (Role.VIEWER, "stories", "create", False),
    (Role.VIEWER, "stories", "delete", False),
    (Role.VIEWER, "api_keys", "read", False),
    (Role.VIEWER, "api_keys", "create", False),
    (Role.MEMBER, "stories", "create", True),
    (Role.MEMBER, "api_keys", "create", True),
    (Role.MEMBER, "members", "invite", False),
    (Role.MEMBER, "members", "update", False),
    (Role.MEMBER, "members", "remove", False),
    (Role.MEMBER, "tenant", "update", False),
    (Role.ADMIN, "members", "invite", True),
    (Role.ADMIN, "members", "remove", True),
    (Role.ADMIN, "tenant", "update", True),
    (Role.ADMIN, "tenant", "delete", False),
    (Role.OWNER, "tenant", "delete", True),
    (Role.OWNER, "members", "remove", True),
    (Role.OWNER, "events", "delete", False),
])
def test_role_table(role, resource, action, expected):
    assert allowed(role, resource, action) is expected


@pytest.mark.parametrize("role", [role for role in Role if role is not Role.GUEST])
def test_a_resource_no_one_named_follows_the_roles_default(role):
    # Plugins add resources by naming them; a role's "*" entry decides.
    assert allowed(role, "campaigns", "read") is True
    assert allowed(role, "campaigns", "update") is (role != Role.VIEWER)
    assert allowed(role, "campaigns", "fly") is False


def test_a_guest_has_nothing_of_the_tenant_but_their_own_keys():
    # What a guest reaches is the sharing plugin's to say (app/guests.py), never a role default.
    assert not any(allowed(Role.GUEST, resource, action) for resource in ("campaigns", "runs", "workflows")
                   for action in ("read", "create", "update", "delete"))
    assert not allowed(Role.GUEST, "members", "read") and not allowed(Role.GUEST, "events", "read")
    assert allowed(Role.GUEST, "api_keys", "create") and allowed(Role.GUEST, "tenant", "read")


def test_roles_are_ordered_strongest_first():
    assert [role.value for role in Role] == ["owner", "admin", "member", "viewer", "guest"]
    assert Role.OWNER.at_least(Role.ADMIN) and Role.ADMIN.at_least(Role.ADMIN)
    assert not Role.MEMBER.at_least(Role.ADMIN)


def test_permissions_of_gives_resources_with_sorted_actions():
    assert permissions_of(Role.VIEWER) == [
        {"resource": "*", "actions": ["read"]},
        {"resource": "events", "actions": ["read"]},
        {"resource": "members", "actions": ["read"]},
        {"resource": "tenant", "actions": ["read"]},
    ]  # api_keys, with no action, is left out
    owner = {entry["resource"]: entry["actions"] for entry in permissions_of(Role.OWNER)}
    assert owner["tenant"] == ["delete", "read", "update"]
    assert owner["*"] == ["create", "delete", "read", "update"]


def test_require_refuses_with_what_was_asked_and_the_callers_role():
    principal = Principal(user=None, tenant_id=uuid.uuid4(), role=Role.MEMBER, via="api_key")
    principal.require("api_keys", "create")

    with pytest.raises(ForbiddenError) as raised:
        principal.require("members", "invite")

    assert raised.value.status_code == 403
    assert raised.value.details == {"resource": "members", "action": "invite", "role": "member"}
    assert raised.value.message == "Your role (member) may not invite members."
