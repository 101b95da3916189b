"""The system scope: every core repository whose statements may cross tenants (issue 9).

Everything else in the repository layer is a :class:`~.base.ScopedRepository`, whose
statements cannot leave their tenant, or a plain :class:`~.base.Repository` over a table that
has no tenant (users, tenants, credit accounts, mail). A repository joins this list only after
review: its docstring says why it may cross tenants, and ``tests/repositories/test_system.py``
fails when a :class:`~.base.SystemRepository` in the core is missing from it.
"""

from __future__ import annotations

from .agent_runs import AgentRunSweep
from .audit_log import AuditLogWriter, PlatformAuditLog
from .base import SystemRepository
from .credentials import ApiKeyLookupRepository, AuthSessionRepository
from .events import EventLogRepository
from .export_jobs import ExportPurge, ExportSweep
from .generation_jobs import GenerationJobLocator
from .provider_keys import ProviderKeyRepository
from .runs import RunLocator, RunStepLocator, StepCacheJanitor
from .tenants import MembershipLocator
from .usage import UsageArchive, UsageLogRepository
from .webhooks import WebhookDeliveryLocator, WebhookSecretRotator

#: Before a tenant is known, the engine's sweeps, and what belongs to a person rather than a tenant.
SYSTEM_SCOPE: tuple[type[SystemRepository], ...] = (
    # Found by a presented secret, which is what names the tenant.
    ApiKeyLookupRepository,
    AuthSessionRepository,
    # A person, before they choose a tenant to act in.
    MembershipLocator,
    # Jobs that carry only an id, and the reconciler's and poller's sweeps over every tenant.
    RunStepLocator,
    RunLocator,
    StepCacheJanitor,
    GenerationJobLocator,
    # One writer for every tenant's events; delivery by id.
    EventLogRepository,
    # Owned by a person across tenants, or by a tenant named explicitly.
    ProviderKeyRepository,
    UsageLogRepository,
    # The retention schedule's pass over every tenant's old usage rows.
    UsageArchive,
    # One writer for every tenant's audit entries; platform administrators read them all.
    AuditLogWriter,
    PlatformAuditLog,
    # The sweep that queues again the webhook deliveries whose jobs Redis lost.
    WebhookDeliveryLocator,
    # A key rotation re-encrypts every tenant's webhook secrets, as it does provider keys.
    WebhookSecretRotator,
    # Rule 3's sweep over every tenant's unfinished agent runs, and their lost jobs.
    AgentRunSweep,
    # Rule 4's purge of every tenant's expired exports (stored bytes are shared by content),
    # and the reconciler's sweep over exports a worker or Redis lost.
    ExportPurge,
    ExportSweep,
)
