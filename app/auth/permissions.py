"""What each tenant role may do (seed 002's roles and permissions; seed 000's Permission).

Resources are nouns; actions are verbs. Plugins extend the table by naming resources of
their own; a role's actions on an unknown resource follow its ``*`` entry.
"""

from __future__ import annotations

from ..models import Role

READ = frozenset({"read"})
WRITE = frozenset({"read", "create", "update", "delete"})

ROLE_PERMISSIONS: dict[Role, dict[str, frozenset[str]]] = {
    Role.OWNER: {
        "tenant": frozenset({"read", "update", "delete"}),
        "members": frozenset({"read", "invite", "update", "remove"}),
        "api_keys": frozenset({"read", "create", "revoke"}),
        "events": READ,
        "*": WRITE,
    },
    Role.ADMIN: {
        "tenant": frozenset({"read", "update"}),
        "members": frozenset({"read", "invite", "update", "remove"}),
        "api_keys": frozenset({"read", "create", "revoke"}),
        "events": READ,
        "*": WRITE,
    },
    Role.MEMBER: {
        "tenant": READ,
        "members": READ,
        "api_keys": frozenset({"read", "create", "revoke"}),
        "events": READ,
        "*": WRITE,
    },
    Role.VIEWER: {
        "tenant": READ,
        "members": READ,
        "api_keys": frozenset(),
        "events": READ,
        "*": READ,
    },
    # Nothing of the tenant at large: what a guest reaches is decided by the plugin that
    # shared it (app/guests.py). Their own API keys, for git, are theirs to make.
    Role.GUEST: {
        "tenant": READ,
        "members": frozenset(),
        "api_keys": frozenset({"read", "create", "revoke"}),
        # Exports are each person's own; the source decides what a guest may export (DraftForge:
        # a shared project whose role allows can_export).
        "exports": frozenset({"read", "create", "delete"}),
        "events": frozenset(),
        "*": frozenset(),
    },
}

#: Roles a member can be given directly; a guest is made only by accepting an invitation.
GRANTABLE_ROLES = tuple(role for role in Role if role is not Role.GUEST)


def allowed(role: Role, resource: str, action: str) -> bool:
    table = ROLE_PERMISSIONS[role]
    return action in table.get(resource, table["*"])


def permissions_of(role: Role) -> list[dict[str, object]]:
    """The role's permissions in seed 000's shape: ``[{resource, actions}]``."""
    return [
        {"resource": resource, "actions": sorted(actions)}
        for resource, actions in sorted(ROLE_PERMISSIONS[role].items())
        if actions
    ]
