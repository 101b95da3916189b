"""Core SQLAlchemy models. Only repositories (:mod:`app.repositories`) query them."""

from .agent_run import AGENT_RUN_TRANSITIONS, CONTEXT_TYPES, AgentRun, AgentRunStatus, AgentTrigger
from .ai_response import AIResponse
from .api_key import API_KEY_TRANSITIONS, ApiKey, ApiKeyStatus
from .artifact import Artifact
from .audit_log import AuditLogEntry
from .auth_session import AuthSession
from .base import Model, utcnow
from .credit_account import (
    SPENDING_STATUSES,
    TIER_LIMITS,
    CreditAccount,
    CreditHold,
    SubscriptionPeriod,
    SubscriptionStatus,
    SubscriptionTier,
    period_allowance,
)
from .domain_event import DomainEventRecord
from .export_job import EXPORT_TRANSITIONS, RETIRED_EXPORT_TYPES, ExportJob, ExportStatus, ExportType
from .feature_flag import FeatureFlag
from .generation_job import GENERATION_TRANSITIONS, GenerationJob, GenerationStatus
from .idempotency import IdempotencyKey
from .notification import Notification, NotificationPriority
from .outbox import OutboxMessage
from .password_reset import PasswordResetToken
from .provider_key import PROVIDER_KEY_TRANSITIONS, ProviderKey, ProviderKeyStatus
from .run import AttemptOutcome, Run, RunStep, StepAttempt, TriggerType
from .step_cache import StepCacheEntry
from .tenant import Membership, Role, Tenant, TenantKind
from .usage_archive import UsageLogArchive
from .usage_log import KeySource, UsageLogEntry, UsageSource, UsageStatus
from .user import User
from .webhook import DELIVERY_TRANSITIONS, DeliveryStatus, Webhook, WebhookDelivery
from .workflow import WorkflowVersion

__all__ = [
    "AGENT_RUN_TRANSITIONS", "CONTEXT_TYPES", "AgentRun", "AgentRunStatus", "AgentTrigger",
    "EXPORT_TRANSITIONS", "RETIRED_EXPORT_TYPES", "ExportJob", "ExportStatus", "ExportType",
    "AIResponse", "CreditAccount", "CreditHold", "GENERATION_TRANSITIONS", "GenerationJob", "GenerationStatus",
    "KeySource", "PROVIDER_KEY_TRANSITIONS", "ProviderKey", "ProviderKeyStatus", "SubscriptionPeriod",
    "SubscriptionStatus", "SubscriptionTier", "TIER_LIMITS", "UsageLogEntry", "UsageSource", "UsageStatus",
    "API_KEY_TRANSITIONS", "ApiKey", "ApiKeyStatus", "Artifact", "AttemptOutcome", "AuthSession",
    "DomainEventRecord", "IdempotencyKey", "Membership", "Model", "OutboxMessage", "PasswordResetToken",
    "Role", "Run", "RunStep", "StepAttempt", "StepCacheEntry", "Tenant", "TenantKind", "TriggerType",
    "User", "WorkflowVersion", "utcnow", "SPENDING_STATUSES", "period_allowance", "FeatureFlag", "Notification", "NotificationPriority", "UsageLogArchive",
    "AuditLogEntry",
    "DELIVERY_TRANSITIONS", "DeliveryStatus", "Webhook", "WebhookDelivery",
]
