"""Core SQLAlchemy models. Only repositories (:mod:`app.repositories`) query them."""

from .api_key import API_KEY_TRANSITIONS, ApiKey, ApiKeyStatus
from .auth_session import AuthSession
from .base import Model, utcnow
from .domain_event import DomainEventRecord
from .outbox import OutboxMessage
from .password_reset import PasswordResetToken
from .tenant import Membership, Role, Tenant, TenantKind
from .user import User

__all__ = [
    "API_KEY_TRANSITIONS", "ApiKey", "ApiKeyStatus", "AuthSession", "DomainEventRecord",
    "Membership", "Model", "OutboxMessage", "PasswordResetToken", "Role", "Tenant",
    "TenantKind", "User", "utcnow",
]
