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

from marshmallow import Schema, fields, post_load, pre_load, validate, validates, validates_schema
from marshmallow import ValidationError as SchemaValidationError

from . import audit
from .agent import Agent, AgentSubject, AgentSubjects, ReviewIssue, ReviewReport, Severity
from .api.blueprint import EnvelopeBlueprint, public
from .auth.principal import Principal, current_principal
from .call_tries import note_failed_try
from .clock import Clock, SystemClock
from .config import Setting, parse_bool, parse_int, parse_list
from .engine.model_check import ModelUse, check_models, require_usable_models
from .engine.run_progress import RunProgress, attach_progress, progress_of
from .engine.service import Budget, RunService, caller_run_service
from .errors import (
    AppError,
    BudgetExceededError,
    ConfigError,
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
    RunModelNotPricedError,
    RunModelRefusedError,
    RunModelUnknownError,
    UnauthorizedError,
    UnknownModelError,
    ValidationError,
    WorkflowExecutionError,
    public_error,
    readable_message,
)
from .events import DomainEvent
from .exports.book import Book, BookChapter, ExportSettings
from .exports.errors import RefNotFoundError
from .exports.sources import ExportSource
from .feature_flags import feature_enabled
from .guests import admit_guest as _admit_guest
from .guests import release_guest as _release_guest
from .guests import welcome_guests
from .markdown_text import inert_markdown, render_markdown
from .models import AgentRun, AgentRunStatus, AgentTrigger, Artifact, Run, RunStep, UsageSource
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
from .models.tenant import enum_column
from .notifications import notify
from .plugin_contract import EventHandlerSpec, EventType, Plugin, RunSubject
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
from .repositories import Repositories, Repository, ScopedRepository, SystemRepository, operation
from .repositories.agent_runs import AgentRunRepository
from .runtime import current_state, repositories
from .schedules import Schedule
from .schemas.base import MAX_OFFSET, ApiSchema, JsonInteger, ModelName, NotBlank
from .skill import Skill, StepContext
from .statuses import RunStatus, StepStatus
from .usernames import check_username, ensure_username, user_by_username
from .version import TOOLKIT_VERSION
from .web.handoff import keep as hand_over
from .web.handoff import take as handed_over
from .webhooks.signing import verify_webhook_signature


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


def start_agent_run(subject_kind: str, subject_id: Any, agent_type: str, *, trigger: str = "manual",
                    trigger_ref: str | None = None, priority: int = 5, changed: list[str] | None = None,
                    user_id: Any = None, tenant_id: Any = None, model: str | None = None) -> Any:
    """Queue a run of a review agent over a subject (a push, a schedule, a plugin's button):
    the same rules as ``POST /api/agent-runs``. In a request it acts for the signed-in caller;
    in a job pass ``tenant_id`` and the ``user_id`` who pays. Returns the agent run row.

    :raises ValidationError: for an unknown agent, kind or trigger, a priority outside 1-10.
    :raises NotFoundError: when the subject is not the caller's to review.
    """
    from .agent_runs import agent_run_service

    return agent_run_service(tenant_id).start(
        subject_kind=subject_kind, subject_id=subject_id, agent_type=agent_type, trigger=trigger,
        trigger_ref=trigger_ref, priority=priority, changed=changed or (), user_id=user_id, model=model)


def principal_for_api_key(secret: str) -> Principal | None:
    """The caller an API key (``iwk_…``) stands for, as ``Authorization: Bearer`` would make
    it: the key's tenant and role, acting as the person who created it; ``None`` for a key
    that is unknown, revoked, expired or whose tenant is gone (nothing is raised).

    For a plugin that authenticates a request of its own outside ``/api/`` (DraftForge's git
    remotes take the key as an HTTP Basic password). Needs an app context.
    """
    from .auth.authentication import principal_from_api_key
    from .auth.tokens import API_KEY_PREFIX

    if not secret or not secret.startswith(API_KEY_PREFIX):
        return None
    try:
        # The key lookup is a global repository: any factory's session finds it.
        return principal_from_api_key(repositories(), secret, None)
    except (UnauthorizedError, ForbiddenError):
        return None


def cancel_agent_run(run_id: Any, tenant_id: Any = None) -> Any:
    """Cancel a queued or running agent run, as ``POST /api/agent-runs/<id>/cancel`` does: its
    job leaves the queue and a running agent stops at its next check. Returns the run row.

    :raises NotFoundError: for a run not in the tenant; :raises IllegalTransitionError:
        for a finished one.
    """
    from .agent_runs import agent_run_service

    return agent_run_service(tenant_id).cancel(run_id)


def check_model_names(named: dict[str, str | None]) -> None:
    """Refuse models no installed provider serves or the catalog cannot price, before
    anything is started or written; the run service checks the run's own models again.

    :param named: ``provider:model`` names by the request or form field that names them
        (``{"models.draft": "foo:bar"}``); an empty one is skipped.
    :raises RunModelUnknownError: ``UNKNOWN_MODEL`` (422), ``details.fields`` naming each field.
    :raises RunModelNotPricedError: ``MODEL_NOT_PRICED`` (422), likewise.
    """
    check_models(current_state().models,
                 [ModelUse(name, field, f"field {field}") for field, name in named.items() if name])


def check_workflow_models(name: str, inputs: dict[str, Any] | None = None, *, version: str | None = None) -> None:
    """Refuse, before a plugin writes rows of its own, a run of workflow ``name`` with
    ``inputs`` that could use a model the catalog cannot serve or price (``start_workflow``
    checks the same, but only once the plugin's rows exist).

    :raises NotFoundError: when no such workflow (or version) is in the caller's catalog.
    :raises RunModelRefusedError: ``UNKNOWN_MODEL`` / ``MODEL_NOT_PRICED`` (422), with
        ``details.fields`` naming ``inputs.<name>`` or ``workflow``.
    """
    entry = current_state().catalog.resolve(repositories(), name, version)
    require_usable_models(current_state(), entry.definition, inputs)


def runs_progress(runs: list[Run]) -> list[Run]:
    """Give each run its :class:`RunProgress` as ``run.run_progress`` (one query for the list)
    — what a plugin's page shows instead of "n of m steps done"; returns the runs."""
    return attach_progress(repositories(), runs)


def run_progress(run: Any) -> RunProgress:
    """A run's progress: completed, failed, skipped, waiting, running and remaining steps, a
    ``fraction`` of completed steps only and a ``label`` ("failed: 1 failed, 3 skipped").

    Counted from the steps of a run's ``detail``, or from what :func:`runs_progress` attached.
    """
    if getattr(run, "run_progress", None) is None and not isinstance(getattr(run, "steps", None), list):
        runs_progress([run])
    return progress_of(run)


def record_audit(action: str, entity_type: str | None = None, entity_id: Any = None, *,
                 changes: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                 tenant_id: Any = None) -> None:
    """Record in the audit log that the signed-in caller did ``action`` to an entity, from
    the request's address and user agent, in the caller's tenant.

    Call it inside the ``with repos.transaction():`` of the change, before it ends: the entry
    commits with the change, and a change that fails leaves none. Called where no transaction
    is open (an export, which changes nothing), the entry commits at once on its own.

    :param action: ``noun.verb``, the plugin's noun first (``story.delete``, ``article.export``).
    :param entity_type: the kind of entity (``story``); :param entity_id: its id.
    :param changes: ``{field: {"before": …, "after": …}}``, see :func:`audit_changes`.
    :param metadata: anything else worth keeping. Secrets in either (values under names such
        as ``password``, ``key``, ``token``, ``secret``) are masked before they are stored.
    :param tenant_id: the tenant, where nobody signed in acts (a signed delivery from outside,
        such as GitHub's): the entry is that tenant's, with no person as its actor.
    """
    audit.record(repositories(tenant_id) if tenant_id is not None else repositories(), action, entity_type,
                 entity_id, changes=changes, metadata=metadata)


def send_mail(kind: str, to: str, subject: str, body: str) -> None:
    """Put a mail in the outbox, in this request's or job's transaction (it goes only if the
    change commits). ``kind`` names it for operators (``draftforge.invitation``)."""
    from .runtime import mailer

    mailer().send(kind[:50], to, subject, body)


def external_url(path: str) -> str:
    """An absolute link to ``path`` of this studio, for mail: built from ``EXTERNAL_URL``,
    never from the request's Host header (which a caller can forge)."""
    from flask import current_app

    return current_app.config["EXTERNAL_URL"].rstrip("/") + "/" + path.lstrip("/")


def admit_guest(tenant_id: Any, user_id: Any, invited_by: Any = None) -> None:
    """Give a person a guest membership of a tenant (``Role.GUEST``) when they have none, in
    this request's transaction: what a plugin does when its invitation is accepted. A guest
    reaches only the endpoints that welcome guests (:func:`welcome_guests`), where the plugin
    decides what they see; a member of the tenant stays a member."""
    _admit_guest(repositories(), tenant_id, user_id, invited_by)


def release_guest(tenant_id: Any, user_id: Any) -> bool:
    """Drop a person's guest membership of a tenant (never a member's): what a plugin does when
    the last thing it shared with them is gone. Whether one went."""
    return _release_guest(repositories(), tenant_id, user_id)


#: ``audit_changes(before, after)``: the ``changes`` of :func:`record_audit` for two dicts
#: of field values, holding the fields that differ.
audit_changes = audit.changed


#: A flask-smorest blueprint whose responses use Inkwright's envelope; plugins build their
#: JSON endpoints with it so they document themselves in ``/api/openapi.json``.
ApiBlueprint = EnvelopeBlueprint

__all__ = [
    "ApiSchema", "JsonInteger", "ModelName", "NotBlank", "MAX_OFFSET", "Clock", "SystemClock", "Artifact", "Budget", "EventHandlerSpec", "Run", "RunService", "RunStatus", "RunStep", "StepStatus",
    "start_workflow", "workflow_runs", "check_model_names", "check_workflow_models", "run_progress", "runs_progress", "RunProgress",
    "public_error", "readable_message", "RunModelRefusedError", "RunModelUnknownError", "RunModelNotPricedError",
    "BudgetExceededError", "CompletionChunk", "MediaPoll", "MediaRequest", "MediaSubmission", "ModelInfo",
    "ModelNotPricedError", "ModelOutputInvalidError", "ProviderAuthError", "ProviderCredentials",
    "ProviderRateLimitedError", "ProviderRequestError", "ProviderResponseError", "ProviderTimeoutError",
    "UnknownModelError", "UsageSource", "note_failed_try", "render_markdown", "inert_markdown", "RunSubject",
    "notify", "feature_enabled", "Schedule",
    "record_audit", "audit_changes",
    "TOOLKIT_VERSION", "Agent", "ApiBlueprint", "AppError", "Completion", "CompletionRequest",
    "ConfigError", "ConflictError", "CreatedAt", "DomainEvent", "ExternalServiceError", "ForbiddenError",
    "IllegalTransitionError", "JSONType", "Model", "NotFoundError", "PaymentRequiredError",
    "Plugin", "Principal", "Provider", "RateLimitedError", "Repositories", "Repository", "RepositoryError",
    "ReviewIssue", "ReviewReport", "Schema", "SchemaValidationError", "ScopedRepository", "SystemRepository",
    "Setting", "Severity", "Skill", "SoftDelete", "StepContext", "TenantScoped", "Timestamps",
    "UTCDateTime", "UUIDPrimaryKey", "UnauthorizedError", "ValidationError",
    "WorkflowExecutionError", "current_principal", "fields", "operation", "parse_bool", "public",
    "parse_int", "parse_list", "post_load", "pre_load", "repositories", "utcnow", "validate",
    "validates", "validates_schema",
    "EventType", "verify_webhook_signature", "hand_over", "handed_over",
    "Book", "BookChapter", "ExportSettings", "ExportSource", "RefNotFoundError",
    "AgentRun", "AgentRunRepository", "AgentRunStatus", "AgentSubject", "AgentSubjects", "AgentTrigger", "start_agent_run",
    "send_mail", "external_url", "admit_guest", "release_guest", "welcome_guests",
    "enum_column", "check_username", "ensure_username", "user_by_username", "principal_for_api_key",
]
