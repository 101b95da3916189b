"""Accounts and sign-in (seed 000's AuthService): register, log in, refresh, log out, reset.

Browser views and JSON endpoints both call this; neither holds any rule of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

from .. import audit
from ..errors import ConflictError, ForbiddenError, UnauthorizedError, ValidationError
from ..events import DomainEvent
from ..mail import Mailer
from ..models import (
    AuthSession,
    Membership,
    PasswordResetToken,
    Role,
    Tenant,
    TenantKind,
    User,
    utcnow,
)
from ..repositories import Repositories
from .passwords import PasswordHasher
from .throttle import PASSWORD_RESET, REGISTER, AttemptThrottle
from .tokens import ACCESS_PREFIX, REFRESH_PREFIX, RESET_PREFIX, hash_secret, new_secret

BAD_CREDENTIALS = "The email or password is not right."


@dataclass(frozen=True)
class IssuedSession:
    """A new API session with its secrets, which exist in clear only in this response."""

    session: AuthSession
    access_token: str
    refresh_token: str


class AuthService:
    """Every account rule in one place.

    :param repos: a repository factory (global scope is enough; tenants are chosen here).
    :param config: the app's configuration mapping.
    """

    def __init__(self, repos: Repositories, passwords: PasswordHasher, throttle: AttemptThrottle,
                 config: Mapping[str, Any]) -> None:
        self.repos = repos
        self.passwords = passwords
        self.throttle = throttle
        self.config = config

    # Registration -----------------------------------------------------------------
    def check_password_policy(self, password: str, field: str = "password") -> None:
        minimum = self.config["PASSWORD_MIN_LENGTH"]
        problems = []
        if len(password) < minimum:
            problems.append(f"Use at least {minimum} characters.")
        if len(password) > 1024:
            problems.append("Use at most 1024 characters.")
        if password.strip() != password or not password.strip():
            problems.append("Do not start or end with spaces.")
        if problems:
            raise ValidationError("The password does not meet the policy.", {"fields": {field: problems}})

    def register(self, email: str, password: str, name: str | None = None, *, address: str | None = None) -> User:
        """Create an account and its personal tenant, with the new user as its owner.

        :param address: the client's address; the attempt counts against the registration
            rate limit of that address and of the email. ``None`` (an operator's command, a
            test's fixture) is not counted.
        :raises RateLimitedError: when this address or email registered too often.
        :raises ForbiddenError: when public registration is switched off.
        :raises ConflictError: when the email already has an account.
        """
        if address is not None:
            self.throttle.hit(address, email.strip(), kind=REGISTER)
        if not self.config["PUBLIC_REGISTRATION"]:
            raise ForbiddenError("Registration is closed on this Inkwright; ask an administrator.")
        self.check_password_policy(password)
        with self.repos.transaction() as tx:
            if self.repos.users.exists(email):
                raise ConflictError("An account with this email already exists; sign in instead.",
                                    {"fields": {"email": ["Already registered."]}})
            user = self.repos.users.add(User(
                email=email.strip().lower(), name=(name or "").strip() or None,
                password_hash=self.passwords.hash(password), last_login_at=utcnow(),
            ))
            label = user.name or user.email.split("@")[0]
            tenant = self.repos.tenants.add(Tenant(
                name=f"{label}'s studio", slug=self.repos.tenants.unique_slug(label), kind=TenantKind.PERSONAL,
            ))
            self.repos.for_tenant(tenant.id).memberships.add(Membership(user_id=user.id, role=Role.OWNER))
            tx.publish(DomainEvent("tenant.created", str(tenant.id), {"tenantId": str(tenant.id), "name": tenant.name},
                                   tenant_id=tenant.id, actor_id=user.id))
            tx.publish(DomainEvent("user.registered", str(user.id), {"userId": str(user.id), "email": user.email},
                                   tenant_id=tenant.id, actor_id=user.id))
            audit.record(self.repos, "auth.register", "user", user.id, actor_id=user.id, tenant_id=tenant.id)
        return user

    # Signing in -------------------------------------------------------------------
    def authenticate(self, email: str, password: str, address: str) -> User:
        """Check credentials, counting the attempt against the login rate limit.

        :raises RateLimitedError: when this address or account tried too often.
        :raises UnauthorizedError: for a wrong email or password, or a disabled account
            (one message for all, so attempts learn nothing about which accounts exist).
        """
        self.throttle.hit(address, email.strip())
        user = self.repos.users.find_by_email(email)
        valid = self.passwords.verify(user.password_hash if user else None, password)
        if not (user and valid and user.can_sign_in):
            # The account tried, if there is one, is the entry's user: its owners see the attempts.
            audit.record(self.repos, "auth.login_failed", "user", user.id if user else None,
                         actor_id=user.id if user else None, tenant_id=self._home_tenant(user),
                         metadata={"email": email.strip()[:254]})
            raise UnauthorizedError(BAD_CREDENTIALS, {"reason": "bad_credentials"})
        self.throttle.clear(email.strip())
        with self.repos.transaction():
            if self.passwords.needs_rehash(user.password_hash):
                user.password_hash = self.passwords.hash(password)
            self.repos.users.record_login(user)
            audit.record(self.repos, "auth.login", "user", user.id, actor_id=user.id,
                         tenant_id=self._home_tenant(user))
        return user

    def _home_tenant(self, user: User | None) -> uuid.UUID | None:
        """The tenant a sign-in lands in (the audit entry's), or ``None`` for no account or tenant."""
        if user is None:
            return None
        tenants = self.repos.tenants.for_user(user.id)
        personal = [tenant.id for tenant, _role in tenants if tenant.kind == TenantKind.PERSONAL]
        return (personal or [tenant.id for tenant, _role in tenants] or [None])[0]

    def default_tenant(self, user: User) -> uuid.UUID:
        memberships = self.repos.tenants.for_user(user.id)
        if not memberships:
            raise ForbiddenError("This account belongs to no tenant; ask an administrator to add it to one.")
        personal = [tenant for tenant, _role in memberships if tenant.kind == TenantKind.PERSONAL]
        return (personal or [memberships[0][0]])[0].id

    def role_in(self, user: User, tenant_id: Any) -> Role:
        """:raises ForbiddenError: when the user is not a member of the tenant."""
        role = self.repos.tenants.role_of(user.id, tenant_id)
        if role is None:
            raise ForbiddenError("You are not a member of that tenant.", {"tenantId": str(tenant_id)})
        return role

    def open_session(self, user: User, tenant_id: Any = None, *, family_id: uuid.UUID | None = None,
                     ip_address: str | None = None, user_agent: str | None = None) -> IssuedSession:
        """Issue an access token and a refresh token for the user in a tenant."""
        tenant_id = tenant_id or self.default_tenant(user)
        self.role_in(user, tenant_id)
        access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
        now = utcnow()
        with self.repos.transaction() as tx:
            session = self.repos.auth_sessions.add(AuthSession(
                tenant_id=tenant_id, user_id=user.id, family_id=family_id or uuid.uuid4(),
                access_token_hash=hash_secret(access),
                access_expires_at=now + timedelta(seconds=self.config["ACCESS_TOKEN_TTL"]),
                refresh_token_hash=hash_secret(refresh),
                refresh_expires_at=now + timedelta(seconds=self.config["REFRESH_TOKEN_TTL"]),
                ip_address=ip_address, user_agent=(user_agent or "")[:512] or None,
            ))
            if family_id is None:
                tx.publish(DomainEvent("user.logged_in", str(user.id),
                                       {"userId": str(user.id), "sessionId": str(session.id)},
                                       tenant_id=session.tenant_id, actor_id=user.id))
        return IssuedSession(session, access, refresh)

    def refresh(self, refresh_token: str, *, ip_address: str | None = None,
                user_agent: str | None = None) -> IssuedSession:
        """Rotate a session: a new access and refresh token; the old pair stops working.

        Presenting a refresh token that was already rotated means it leaked: the whole
        family of sessions descending from that sign-in is revoked.

        :raises UnauthorizedError: for an unknown, revoked, reused or expired token.
        """
        session = self.repos.auth_sessions.find_by_refresh_hash(hash_secret(refresh_token))
        if session is None:
            raise UnauthorizedError("The refresh token is not valid.", {"reason": "invalid_token"})
        if session.rotated_at is not None:
            with self.repos.transaction():
                self.repos.auth_sessions.revoke_family(session.family_id, "refresh_token_reused")
            raise UnauthorizedError("This refresh token was already used; sign in again.",
                                    {"reason": "token_reused"})
        if session.revoked_at is not None:
            raise UnauthorizedError("This session was signed out; sign in again.", {"reason": "revoked"})
        if session.refresh_expires_at <= utcnow():
            raise UnauthorizedError("The refresh token has expired; sign in again.", {"reason": "expired"})
        user = self.repos.users.get(session.user_id)
        if user is None or not user.can_sign_in:
            raise UnauthorizedError("This account can no longer sign in.", {"reason": "account_disabled"})
        with self.repos.transaction():
            now = utcnow()
            session.rotated_at = now
            session.revoked_at = now
            session.revoked_reason = "rotated"
            issued = self.open_session(user, session.tenant_id, family_id=session.family_id,
                                       ip_address=ip_address, user_agent=user_agent)
        return issued

    def logout(self, session: AuthSession) -> None:
        """Revoke the session: its access and refresh tokens stop working at once."""
        with self.repos.transaction():
            if session.revoked_at is None:
                session.revoked_at = utcnow()
                session.revoked_reason = "logout"
                self.repos.auth_sessions.save(session)
                audit.record(self.repos, "auth.logout", "auth_session", session.id, actor_id=session.user_id,
                             tenant_id=session.tenant_id)

    # Password reset ---------------------------------------------------------------
    def request_password_reset(self, email: str, mailer: Mailer, link_base: str) -> None:
        """Mail a single-use reset link if the account exists; say nothing either way."""
        user = self.repos.users.find_by_email(email)
        if user is None or not user.can_sign_in:
            return
        secret = new_secret(RESET_PREFIX)
        ttl = self.config["PASSWORD_RESET_TTL"]
        with self.repos.transaction():
            self.repos.password_resets.void_for_user(user.id)
            self.repos.password_resets.add(PasswordResetToken(
                user_id=user.id, token_hash=hash_secret(secret), expires_at=utcnow() + timedelta(seconds=ttl),
            ))
            mailer.send(
                "password_reset", user.email, "Reset your Inkwright password",
                f"Someone asked to reset the password of this Inkwright account.\n\n"
                f"Open this link within {ttl // 60} minutes to choose a new one:\n"
                f"{link_base.rstrip('/')}/{secret}\n\n"
                f"If it was not you, ignore this message; your password stays as it is.\n",
            )

    def check_reset_token(self, token: str, address: str | None = None) -> PasswordResetToken:
        """Find the live reset token of a link.

        :param address: the client's address; the look counts against its password-reset
            rate limit (so guessing links costs attempts). ``None`` is not counted.
        :raises RateLimitedError: when this address looked at reset links too often.
        :raises ValidationError: when the link is unknown, used or expired.
        """
        if address is not None:
            self.throttle.hit(address, kind=PASSWORD_RESET)
        found = self.repos.password_resets.find_by_hash(hash_secret(token))
        if found is None or found.used_at is not None or found.expires_at <= utcnow():
            raise ValidationError("This reset link is not valid any more; ask for a new one.",
                                  {"fields": {"token": ["Invalid, used or expired."]}})
        return found

    def reset_password(self, token: str, new_password: str, *, address: str | None = None) -> User:
        """Set a new password from a reset link; every API session of the user is revoked.

        :param address: counted as in :meth:`check_reset_token`.
        :raises RateLimitedError: when this address looked at reset links too often.
        :raises ValidationError: for a link not valid any more, or a password off the policy.
        """
        reset = self.check_reset_token(token, address)
        self.check_password_policy(new_password)
        user = self.repos.users.get(reset.user_id)
        if user is None or not user.can_sign_in:
            raise ValidationError("This reset link is not valid any more; ask for a new one.")
        with self.repos.transaction() as tx:
            user.password_hash = self.passwords.hash(new_password)
            reset.used_at = utcnow()
            self.repos.users.save(user)
            self.repos.auth_sessions.revoke_user(user.id, "password_reset")
            tx.publish(DomainEvent("user.password_reset", str(user.id), {"userId": str(user.id)},
                                   tenant_id=self.default_tenant(user), actor_id=user.id))
            audit.record(self.repos, "auth.password_reset", "user", user.id, actor_id=user.id,
                         tenant_id=self._home_tenant(user),
                         changes={"password": {"before": "old", "after": "new"}})
        return user
