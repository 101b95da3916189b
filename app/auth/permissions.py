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
}


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
