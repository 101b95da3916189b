"""Core SQLAlchemy models. Only repositories (:mod:`app.repositories`) query them."""

from .api_key import API_KEY_TRANSITIONS, ApiKey, ApiKeyStatus
from .artifact import Artifact
from .auth_session import AuthSession
from .base import Model, utcnow
from .domain_event import DomainEventRecord
from .idempotency import IdempotencyKey
from .outbox import OutboxMessage
from .password_reset import PasswordResetToken
from .run import AttemptOutcome, Run, RunStep, StepAttempt, TriggerType
from .step_cache import StepCacheEntry
from .tenant import Membership, Role, Tenant, TenantKind
from .user import User
from .workflow import WorkflowVersion

__all__ = [
    "API_KEY_TRANSITIONS", "ApiKey", "ApiKeyStatus", "Artifact", "AttemptOutcome", "AuthSession",
    "DomainEventRecord", "IdempotencyKey", "Membership", "Model", "OutboxMessage", "PasswordResetToken",
    "Role", "Run", "RunStep", "StepAttempt", "StepCacheEntry", "Tenant", "TenantKind", "TriggerType",
    "User", "WorkflowVersion", "utcnow",
]
