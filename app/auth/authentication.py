"""Turning a presented credential into a :class:`Principal`.

Three credentials exist: an API access token (``iwa_…``), an API key (``iwk_…``), and the
browser's Flask-Login session. Each check fails with an ``UnauthorizedError`` whose
``details.reason`` tells a client what to do (refresh, sign in again, get a new key).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..errors import ForbiddenError, UnauthorizedError
from ..models import ApiKeyStatus, User, utcnow
from ..repositories import Repositories, as_uuid
from .principal import Principal
from .tokens import ACCESS_PREFIX, API_KEY_PREFIX, hash_secret

#: Don't write ``last_used_at`` on every request; once a minute is precise enough.
_TOUCH_INTERVAL = timedelta(seconds=60)


def _touch(repos: Repositories, row: Any) -> None:
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_INTERVAL:
        with repos.transaction():
            row.last_used_at = now
            repos.session.flush()


def _membership_role(repos: Repositories, user: User, tenant_id: Any):
    role = repos.tenants.role_of(user.id, tenant_id)
    if role is None:
        raise ForbiddenError("You are not a member of that tenant.", {"tenantId": str(tenant_id)})
    return role


def principal_from_access_token(repos: Repositories, token: str, tenant_header: str | None) -> Principal:
    session = repos.auth_sessions.find_by_access_hash(hash_secret(token))
    if session is None:
        raise UnauthorizedError("The access token is not valid.", {"reason": "invalid_token"})
    if session.revoked_at is not None:
        raise UnauthorizedError("This session was signed out; sign in again.", {"reason": "revoked"})
    if session.access_expires_at <= utcnow():
        raise UnauthorizedError("The access token has expired; refresh it.", {"reason": "expired"})
    user = repos.users.get(session.user_id)
    if user is None or not user.can_sign_in:
        raise UnauthorizedError("This account can no longer sign in.", {"reason": "account_disabled"})
    tenant_id = session.tenant_id
    if tenant_header:
        tenant_id = as_uuid(tenant_header)
        if tenant_id is None:
            raise ForbiddenError("X-Tenant-ID is not a tenant id.", {"tenantId": tenant_header})
    role = _membership_role(repos, user, tenant_id)
    _touch(repos, session)
    return Principal(user=user, tenant_id=tenant_id, role=role, via="token", credential_id=session.id)


def principal_from_api_key(repos: Repositories, secret: str, tenant_header: str | None) -> Principal:
    lookup, key_hash = repos.api_key_lookup, hash_secret(secret)
    key = lookup.credential(key_hash)
    if key is None:
        raise UnauthorizedError("The API key is not valid.", {"reason": "invalid_key"})
    status, now = key.status, utcnow()
    if status == ApiKeyStatus.ACTIVE and key.expires_at is not None and key.expires_at <= now:
        with repos.transaction():  # the first use after it lapsed records that it did
            row = lookup.find_by_hash(key_hash)
            row.move_to(ApiKeyStatus.EXPIRED)
            repos.session.flush()
        status = ApiKeyStatus.EXPIRED
    if status == ApiKeyStatus.REVOKED:
        raise UnauthorizedError("This API key was revoked.", {"reason": "revoked"})
    if status == ApiKeyStatus.EXPIRED:
        raise UnauthorizedError("This API key has expired; create a new one.", {"reason": "expired"})
    if not key.tenant_exists:
        raise UnauthorizedError("The tenant of this API key no longer exists.", {"reason": "tenant_deleted"})
    if tenant_header and as_uuid(tenant_header) != key.tenant_id:
        raise ForbiddenError("An API key works only in its own tenant.", {"tenantId": tenant_header})
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_INTERVAL:
        with repos.transaction():
            lookup.touch(key.id, now)
    return Principal(None, key.tenant_id, key.role, "api_key", key.id, user_id=key.creator_id)


def principal_from_bearer(repos: Repositories, authorization: str, tenant_header: str | None) -> Principal:
    """Resolve an ``Authorization`` header value.

    :raises UnauthorizedError: for a malformed header or a bad, expired or revoked credential.
    """
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise UnauthorizedError("Send credentials as 'Authorization: Bearer <token or API key>'.",
                                {"reason": "malformed_header"})
    if credential.startswith(ACCESS_PREFIX):
        return principal_from_access_token(repos, credential, tenant_header)
    if credential.startswith(API_KEY_PREFIX):
        return principal_from_api_key(repos, credential, tenant_header)
    raise UnauthorizedError("The bearer credential is not an Inkwright token or API key.",
                            {"reason": "invalid_token"})


def principal_from_browser(repos: Repositories, user: User, tenant_id: Any) -> Principal | None:
    """The principal of a signed-in browser, in the tenant chosen in its session."""
    if not user.can_sign_in:
        return None
    role = repos.tenants.role_of(user.id, tenant_id) if tenant_id else None
    if role is None:
        memberships = repos.tenants.for_user(user.id)
        if not memberships:
            return None
        tenant, role = memberships[0]
        tenant_id = tenant.id
    return Principal(user=user, tenant_id=as_uuid(tenant_id), role=role, via="session")
