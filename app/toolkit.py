"""The plugin toolkit: the one core module a plugin imports.

Everything a skill, agent, provider or feature plugin needs from Inkwright is re-exported
here, so the rest of the core may be rearranged without breaking a third-party package::

    from app.toolkit import Skill, StepContext, Schema, fields

A package adds to Inkwright by naming classes or objects in its entry points:

=======================  ===============================================================
entry-point group         an entry point names
=======================  ===============================================================
``inkwright.skills``      a :class:`Skill` subclass (entry-point name = skill name)
``inkwright.agents``      an :class:`Agent` subclass
``inkwright.providers``   a :class:`Provider` subclass
``inkwright.plugins``     a :class:`Plugin` subclass or instance (blueprints, models,
                          migrations, workflows, templates, CLI commands, event handlers)
=======================  ===============================================================

``TOOLKIT_VERSION`` changes only when this contract changes.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)
from marshmallow import ValidationError as SchemaValidationError

from .agent import Agent, ReviewIssue, ReviewReport, Severity
from .api.blueprint import EnvelopeBlueprint, public
from .auth.principal import Principal, current_principal
from .config import Setting, parse_bool, parse_int, parse_list
from .engine.service import Budget, RunService, caller_run_service
from .statuses import RunStatus, StepStatus
from .errors import (
    AppError,
    BudgetExceededError,
    ConflictError,
    ExternalServiceError,
    ForbiddenError,
    IllegalTransitionError,
    ModelNotPricedError,
    ModelOutputInvalidError,
    NotFoundError,
    PaymentRequiredError,
    ProviderAuthError,
    ProviderRateLimitedError,
    ProviderRequestError,
    ProviderResponseError,
    ProviderTimeoutError,
    RateLimitedError,
    RepositoryError,
    UnauthorizedError,
    UnknownModelError,
    ValidationError,
    WorkflowExecutionError,
)
from .events import DomainEvent
from .models import Artifact, Run, RunStep
from .models.base import (
    CreatedAt,
    JSONType,
    Model,
    SoftDelete,
    TenantScoped,
    Timestamps,
    UTCDateTime,
    UUIDPrimaryKey,
    utcnow,
)
from .plugin_contract import EventHandlerSpec, Plugin
from .provider import (
    Completion,
    CompletionChunk,
    CompletionRequest,
    MediaPoll,
    MediaRequest,
    MediaSubmission,
    ModelInfo,
    Provider,
    ProviderCredentials,
)
from .repositories import Repositories, Repository, ScopedRepository, operation
from .schemas.base import ApiSchema
from .skill import Skill, StepContext
from .runtime import current_state, repositories
from .version import TOOLKIT_VERSION


def workflow_runs() -> RunService:
    """The engine's run service acting for the signed-in caller, in their tenant: start,
    ``detail``, ``cancel``, ``select``, ``regenerate``, ``branch``, ``update``, ``resume``,
    ``lineage`` — the same rules, permissions and tenancy as the JSON API.

    :raises UnauthorizedError: outside a signed-in request.
    """
    return caller_run_service()


def start_workflow(name: str, inputs: dict[str, Any] | None = None, *, version: str | None = None,
                   budget: Budget | None = None, idempotency_key: str | None = None) -> Run:
    """Start a run of a workflow (a plugin's packaged one or the tenant's upload) for the
    signed-in caller; it is queued when this returns.

    :raises NotFoundError: when no such workflow (or version) is in the caller's catalog.
    :raises ValidationError: for inputs the workflow does not accept (``details.fields``).
    """
    service = workflow_runs()
    entry = current_state().catalog.resolve(service.repos, name, version)
    run, _created = service.start(entry, inputs or {}, idempotency_key, budget=budget)
    return run


#: A flask-smorest blueprint whose responses use Inkwright's envelope; plugins build their
#: JSON endpoints with it so they document themselves in ``/api/openapi.json``.
ApiBlueprint = EnvelopeBlueprint

__all__ = [
    "ApiSchema", "Artifact", "Budget", "EventHandlerSpec", "Run", "RunService", "RunStatus", "RunStep", "StepStatus",
    "start_workflow", "workflow_runs",
    "BudgetExceededError", "CompletionChunk", "MediaPoll", "MediaRequest", "MediaSubmission", "ModelInfo",
    "ModelNotPricedError", "ModelOutputInvalidError", "ProviderAuthError", "ProviderCredentials",
    "ProviderRateLimitedError", "ProviderRequestError", "ProviderResponseError", "ProviderTimeoutError",
    "UnknownModelError",
    "TOOLKIT_VERSION", "Agent", "ApiBlueprint", "AppError", "Completion", "CompletionRequest",
    "ConflictError", "CreatedAt", "DomainEvent", "ExternalServiceError", "ForbiddenError",
    "IllegalTransitionError", "JSONType", "Model", "NotFoundError", "PaymentRequiredError",
    "Plugin", "Principal", "Provider", "RateLimitedError", "Repositories", "Repository", "RepositoryError",
    "ReviewIssue", "ReviewReport", "Schema", "SchemaValidationError", "ScopedRepository",
    "Setting", "Severity", "Skill", "SoftDelete", "StepContext", "TenantScoped", "Timestamps",
    "UTCDateTime", "UUIDPrimaryKey", "UnauthorizedError", "ValidationError",
    "WorkflowExecutionError", "current_principal", "fields", "operation", "parse_bool", "public",
    "parse_int", "parse_list", "post_load", "pre_load", "repositories", "utcnow", "validate",
    "validates", "validates_schema",
]
