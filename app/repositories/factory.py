"""The repository factory: one per request or job, bound to one session and one scope."""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Callable, TypeVar

from sqlalchemy.orm import Session

from ..events import DomainEvent
from .ai_responses import AIResponseRepository
from .api_keys import ApiKeyRepository
from .base import Repository, ScopedRepository
from .cache import RepositoryCache
from .credentials import ApiKeyLookupRepository, AuthSessionRepository, PasswordResetRepository
from .credits import CreditAccountRepository
from .events import DomainEventRepository, EventLogRepository
from .feature_flags import FeatureFlagRepository
from .generation_jobs import GenerationJobRepository
from .mail import OutboxRepository
from .metrics import RepositoryMetrics
from .notifications import NotificationRepository
from .provider_keys import ProviderKeyRepository
from .runs import (
    ArtifactRepository,
    IdempotencyKeyRepository,
    RunRepository,
    RunStepRepository,
    StepAttemptRepository,
    StepCacheRepository,
    WorkflowVersionRepository,
)
from .tenants import MembershipRepository, TenantRepository
from .unit_of_work import UnitOfWork
from .usage import UsageLogRepository
from .users import UserRepository

R = TypeVar("R", bound=Repository)


class Repositories:
    """Hands out repositories that share a session, a tenant scope, metrics and cache.

    Tenant-aware repositories exist only when the factory has a tenant; asking for one
    without a tenant is a programming error and raises at once.

    :param session: the session of this request or job.
    :param tenant_id: the tenant this factory is scoped to, or ``None`` for global work.
    :param on_committed: receives the events of each committed transaction.
    """

    def __init__(self, session: Session, *, tenant_id: uuid.UUID | None, metrics: RepositoryMetrics,
                 cache: RepositoryCache, on_committed: Callable[[list[DomainEvent]], None]) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.metrics = metrics
        self.cache = cache
        self.on_committed = on_committed

    def get(self, repository_class: type[R]) -> R:
        """Build any repository, a plugin's included, with this factory's session and scope."""
        if issubclass(repository_class, ScopedRepository):
            return repository_class(self.session, tenant_id=self.tenant_id, metrics=self.metrics,
                                    cache=self.cache)
        return repository_class(self.session, metrics=self.metrics, cache=self.cache)

    def for_tenant(self, tenant_id: uuid.UUID) -> "Repositories":
        """The same session and machinery, scoped to another tenant."""
        return Repositories(self.session, tenant_id=tenant_id, metrics=self.metrics, cache=self.cache,
                            on_committed=self.on_committed)

    def transaction(self) -> UnitOfWork:
        """The unit of work of this factory's session; ``with`` it to commit or roll back as one.

        Every factory over the session, whatever its tenant, shares it: a nested ``with`` is
        a SAVEPOINT of the one transaction, never a commit of someone else's work.
        """
        return UnitOfWork.of(self.session, lambda: self.get(EventLogRepository), self.on_committed)

    def get_event_record(self, event_id: object):
        """A recorded event by id, whatever its tenant (for the worker delivering it)."""
        return self.get(EventLogRepository).get(event_id)

    # Global repositories
    @cached_property
    def users(self) -> UserRepository:
        return self.get(UserRepository)

    @cached_property
    def tenants(self) -> TenantRepository:
        return self.get(TenantRepository)

    @cached_property
    def auth_sessions(self) -> AuthSessionRepository:
        return self.get(AuthSessionRepository)

    @cached_property
    def api_key_lookup(self) -> ApiKeyLookupRepository:
        return self.get(ApiKeyLookupRepository)

    @cached_property
    def password_resets(self) -> PasswordResetRepository:
        return self.get(PasswordResetRepository)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return self.get(OutboxRepository)

    @cached_property
    def credit_accounts(self) -> CreditAccountRepository:
        return self.get(CreditAccountRepository)

    @cached_property
    def provider_keys(self) -> ProviderKeyRepository:
        return self.get(ProviderKeyRepository)

    @cached_property
    def usage_log(self) -> UsageLogRepository:
        return self.get(UsageLogRepository)

    @cached_property
    def notifications(self) -> NotificationRepository:
        return self.get(NotificationRepository)

    @cached_property
    def feature_flags(self) -> FeatureFlagRepository:
        return self.get(FeatureFlagRepository)

    # Tenant-scoped repositories
    @cached_property
    def memberships(self) -> MembershipRepository:
        return self.get(MembershipRepository)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return self.get(ApiKeyRepository)

    @cached_property
    def events(self) -> DomainEventRepository:
        return self.get(DomainEventRepository)

    @cached_property
    def runs(self) -> RunRepository:
        return self.get(RunRepository)

    @cached_property
    def run_steps(self) -> RunStepRepository:
        return self.get(RunStepRepository)

    @cached_property
    def step_attempts(self) -> StepAttemptRepository:
        return self.get(StepAttemptRepository)

    @cached_property
    def step_cache(self) -> StepCacheRepository:
        return self.get(StepCacheRepository)

    @cached_property
    def artifacts(self) -> ArtifactRepository:
        return self.get(ArtifactRepository)

    @cached_property
    def generation_jobs(self) -> GenerationJobRepository:
        return self.get(GenerationJobRepository)

    @cached_property
    def idempotency_keys(self) -> IdempotencyKeyRepository:
        return self.get(IdempotencyKeyRepository)

    @cached_property
    def ai_responses(self) -> AIResponseRepository:
        return self.get(AIResponseRepository)

    @cached_property
    def workflow_versions(self) -> WorkflowVersionRepository:
        return self.get(WorkflowVersionRepository)
