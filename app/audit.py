"""The audit log's recorder: who did what, to which entity, from where (seed 003 table 12).

A service that changes something calls :func:`record` inside the transaction of the change,
before its commit, so the entry and the change are one: a change that fails or is rolled
back leaves no entry, and a change that commits always has one (issue 14). Called where no
transaction is open (a sign-out, a failed sign-in, an export that changes nothing), it
commits the entry in a transaction of its own.

Where the request came from is read here, not passed down by every view: the client's
address as :class:`werkzeug.middleware.proxy_fix.ProxyFix` leaves it (``TRUSTED_PROXIES``),
and its user agent. Outside a request (a job, a command) both are ``None``.

Secrets never reach a row: values under secret-sounding names (``password``, ``key``,
``secret``, ``token``, ``*_hash``…) and strings shaped like Inkwright's own bearer secrets
are masked in ``changes`` and ``metadata`` alike.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from flask import has_request_context, request

from .auth.principal import optional_principal
from .auth.tokens import ACCESS_PREFIX, API_KEY_PREFIX, REFRESH_PREFIX, RESET_PREFIX
from .models import utcnow
from .repositories import Repositories
from .repositories.audit_log import AuditLogWriter

MASK = "********"

#: Longest user agent kept (browsers send about 150 characters; anything longer is noise).
USER_AGENT_LIMIT = 512

#: Field names whose values are secrets, whole or as a suffix (``refresh_token``, ``key_hash``).
SECRET_NAMES = frozenset({"password", "secret", "token", "key", "authorization", "cookie"})
SECRET_SUFFIXES = ("_password", "_secret", "_token", "_key", "_hash")
#: A string that is one of Inkwright's own bearer secrets, under whatever name it travels
#: (a key's 12-character display prefix is not one, and stays readable).
SECRET_VALUE = re.compile("^(?:" + "|".join(re.escape(p) for p in (ACCESS_PREFIX, REFRESH_PREFIX, API_KEY_PREFIX,
                                                                    RESET_PREFIX)) + r")[A-Za-z0-9_\-]{20,}")

_UNSET: Any = object()


@dataclass(frozen=True)
class Origin:
    """Where an action came from: the client's address and its user agent."""

    ip_address: str | None = None
    user_agent: str | None = None


def request_origin() -> Origin:
    """The current request's client address and user agent; both ``None`` outside a request.

    The address is ``request.remote_addr``, which ProxyFix has already replaced with the
    forwarded client's when ``TRUSTED_PROXIES`` is set (and only then: a client's own
    ``X-Forwarded-For`` is not believed).
    """
    if not has_request_context():
        return Origin()
    agent = request.headers.get("User-Agent")
    address = request.remote_addr
    return Origin(address[:45] if address else None, agent[:USER_AGENT_LIMIT] if agent else None)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or lowered.endswith(SECRET_SUFFIXES)


def masked(value: Any, name: str | None = None) -> Any:
    """``value`` with every secret in it masked: what is under a secret name, whole, and any
    string shaped like a bearer secret. Lists and mappings are walked; nothing is changed in place."""
    if name is not None and is_secret_name(name) and value is not None:
        return MASK
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Mapping):
        return {str(key): masked(item, str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item) for item in value]
    if isinstance(value, str) and SECRET_VALUE.match(value):
        return MASK
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # a UUID, a moment, a Decimal: JSON has no type for them


def masked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` masked, keeping each secret field's before/after shape, so the entry
    still says a password or key changed, and never what to."""
    result: dict[str, Any] = {}
    for name, change in changes.items():
        if is_secret_name(str(name)) and isinstance(change, Mapping):
            result[str(name)] = {side: None if value is None else MASK for side, value in change.items()}
        else:
            result[str(name)] = masked(change, str(name))
    return result


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"before": …, "after": …}}`` for each field whose value differs (absent
    counts as ``None``); the result goes to :func:`record` as ``changes``."""
    return {name: {"before": before.get(name), "after": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)}


def record(repos: Repositories, action: str, entity_type: str | None = None, entity_id: Any = None, *,
           actor_id: Any = _UNSET, tenant_id: Any = _UNSET, changes: Mapping[str, Any] | None = None,
           metadata: Mapping[str, Any] | None = None, origin: Origin | None = None) -> uuid.UUID:
    """Append an entry to the audit log, in the transaction open on ``repos``' session.

    :param repos: the repository factory of the change (its session and unit of work).
    :param action: what was done, ``noun.verb`` (``api_key.create``, ``run.cancel``).
    :param entity_type: the kind of thing it was done to (``api_key``, ``run``), if any.
    :param entity_id: that thing's id.
    :param actor_id: who did it; the signed-in caller by default (``None``: nobody known).
    :param tenant_id: where; ``repos``' tenant, else the caller's, by default.
    :param changes: ``{field: {"before": …, "after": …}}`` (see :func:`changed`); masked.
    :param metadata: anything else worth keeping; masked.
    :param origin: the client's address and agent; the current request's by default.
    :returns: the new entry's id (the row is in the transaction; it commits with it).
    """
    principal = optional_principal()
    if actor_id is _UNSET:
        actor_id = principal.user_id if principal is not None else None
    if tenant_id is _UNSET:
        tenant_id = repos.tenant_id or (principal.tenant_id if principal is not None else None)
    details = dict(metadata or {})
    if principal is not None and principal.user_id == actor_id:
        # How the actor was signed in tells a script's key from a person at the studio.
        details.setdefault("via", principal.via)
        if principal.via == "api_key":
            details.setdefault("api_key_id", principal.credential_id)
    origin = origin or request_origin()
    entry_id = uuid.uuid4()
    values = {
        "id": entry_id, "created_at": utcnow(), "tenant_id": tenant_id, "user_id": actor_id, "action": action,
        "entity_type": entity_type, "entity_id": None if entity_id is None else str(entity_id)[:100],
        "ip_address": origin.ip_address, "user_agent": origin.user_agent,
        "changes": masked_changes(changes) if changes else None, "metadata": masked(details) if details else None,
    }
    writer = repos.get(AuditLogWriter)
    unit = repos.transaction()
    if unit.is_open:
        writer.append(values)
    else:
        with unit:
            writer.append(values)
    return entry_id


__all__ = ["MASK", "Origin", "changed", "masked", "masked_changes", "record", "request_origin"]
