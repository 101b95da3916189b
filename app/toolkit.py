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

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Sequence

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

from .api.blueprint import EnvelopeBlueprint, public
from .auth.principal import Principal, current_principal
from .config import Setting, parse_bool, parse_int, parse_list
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
from .repositories import Repositories, Repository, ScopedRepository, operation
from .state import repositories
from .version import TOOLKIT_VERSION

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask


class Skill(ABC):
    """A unit of work a workflow step runs.

    Subclasses set ``name`` (it must equal the entry-point name), ``version`` (bump it
    whenever output for the same input may change: it is part of the step cache key),
    ``input_schema`` and ``output_schema`` (marshmallow schemas), and implement
    :meth:`run`. A skill talks to the world only through its :class:`StepContext`.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    input_schema: ClassVar[type[Schema]] = Schema
    output_schema: ClassVar[type[Schema]] = Schema

    @abstractmethod
    def run(self, ctx: "StepContext", inputs: dict[str, Any]) -> dict[str, Any]:
        """Do the step's work.

        :param ctx: the step's context: models, artifacts, cancellation, progress.
        :param inputs: the step's resolved inputs, already loaded by ``input_schema``.
        :returns: output that ``output_schema`` accepts.
        """

    @classmethod
    def definition_problems(cls) -> list[str]:
        """What is wrong with the class as a plugin declares it (empty when fine)."""
        problems = []
        if not cls.name:
            problems.append("has no name")
        if not cls.version:
            problems.append("has no version")
        for attribute in ("input_schema", "output_schema"):
            schema = getattr(cls, attribute)
            if not (isinstance(schema, type) and issubclass(schema, Schema)):
                problems.append(f"{attribute} is not a marshmallow Schema class")
        return problems


class StepContext(ABC):
    """What a running skill may touch. The engine builds one per step attempt.

    Every model call, artifact and progress report goes through here, so metering,
    caching, tenancy and recording happen in one place, the core.
    """

    @property
    @abstractmethod
    def inputs(self) -> dict[str, Any]:
        """The run's inputs, as the person or client gave them."""

    @abstractmethod
    def generate(self, prompt: str | None = None, *, messages: Sequence[dict[str, str]] | None = None,
                 model: str | None = None, temperature: float | None = None,
                 max_tokens: int | None = None, json_schema: dict | None = None,
                 stop: Sequence[str] = (), system: str | None = None,
                 on_chunk: "Callable[[str], None] | None" = None) -> "Completion":
        """Call a text model through the metered provider layer.

        The call is recorded (an AI response and a usage-log row), metered against the run's
        budget and the user's credits (unless a BYOK key pays), and its tokens and cost are
        added to the step and the run.

        :param prompt: the user message; or pass ``messages`` (``role``/``content`` dicts).
        :param model: ``provider:model``; defaults to the step's model (its candidate's
            model, the step's ``model`` option, or the workflow's default).
        :param json_schema: ask for JSON fitting this JSON Schema; an answer that does not
            fit raises :class:`ModelOutputInvalidError` (retried per the step's policy).
        :param system: a system message put before the prompt.
        :param on_chunk: receives the text as it streams, where the backend streams.
        :returns: the completion; ``completion.offline`` tells offline output apart.
        :raises PaymentRequiredError: when the call cannot be covered by credits, and
            :class:`BudgetExceededError` when it would pass the run's budget (the run pauses).
        :raises UnknownModelError: when no installed provider serves the model.
        :raises ModelNotPricedError: when the catalog has no price for the model.
        :raises ExternalServiceError: when the provider fails (a ``Provider*Error``).
        """

    @abstractmethod
    def generate_media(self, model: str, *, media_type: str, params: dict[str, Any] | None = None,
                       timeout: float | None = None) -> str:
        """Start (or pick up) an asynchronous media generation; returns its artifact id.

        The first time a step asks, the job is submitted and the step goes to ``waiting``
        without holding a worker (this call does not return); when the job finishes, its
        result is stored as an artifact and the step runs again, and this same call then
        returns the artifact's id at once.

        :raises ExternalServiceError: when the generation failed or timed out.
        """

    def score_response(self, response_id: str, score: float) -> None:
        """Record a quality score (0 to 1) for one of this step's AI responses."""
        raise NotImplementedError

    @abstractmethod
    def store_artifact(self, content: bytes, *, media_type: str, filename: str | None = None,
                       metadata: dict[str, Any] | None = None) -> str:
        """Store content-addressed bytes for this run; returns the artifact id."""

    @abstractmethod
    def check_cancelled(self) -> None:
        """Raise if the run was cancelled; long skills call this between units of work."""

    @abstractmethod
    def report_progress(self, fraction: float, message: str = "") -> None:
        """Tell watchers how far the step is (0.0 to 1.0)."""


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class ReviewIssue:
    """One finding of a review agent (seed 003's agent run results)."""

    severity: Severity
    category: str
    message: str
    location: str | None = None
    suggestion: str | None = None
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must lie between 0 and 1")
        object.__setattr__(self, "severity", Severity(self.severity))


@dataclass
class ReviewReport:
    issues: list[ReviewIssue] = field(default_factory=list)
    summary: str = ""

    @property
    def severity_breakdown(self) -> dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for issue in self.issues:
            counts[issue.severity.value] += 1
        return counts


class Agent(ABC):
    """A reviewer over a project's content (continuity, style, timeline, fact...)."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    categories: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def review(self, ctx: StepContext, content: dict[str, Any]) -> ReviewReport:
        """Read the content and report issues with severity, place and suggestion."""

    @classmethod
    def definition_problems(cls) -> list[str]:
        return [] if cls.name else ["has no name"]


EventHandlerSpec = tuple[str, Callable[[DomainEvent], None]] | tuple[str, Callable[[DomainEvent], None], bool]


class Plugin:
    """Everything else a package adds. Override what you need; the defaults add nothing.

    :cvar name: the plugin's name; also its Alembic branch label and config prefix.
    :cvar models: model classes the plugin owns (their tables are the plugin's).
    :cvar migrations: folder of the plugin's Alembic versions (a branch of its own).
    :cvar workflows: folder of packaged workflow YAML documents.
    :cvar templates: folder of Jinja templates, searched after the core's.
    :cvar settings: configuration keys, each named ``<NAME>_...`` in upper case.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str | None] = None
    models: ClassVar[Sequence[type[Model]]] = ()
    migrations: ClassVar[str | Path | None] = None
    workflows: ClassVar[str | Path | None] = None
    templates: ClassVar[str | Path | None] = None
    settings: ClassVar[Sequence[Setting]] = ()

    def blueprints(self) -> Iterable["Blueprint"]:
        """Browser blueprints to register."""
        return ()

    def api_blueprints(self) -> Iterable[EnvelopeBlueprint]:
        """JSON blueprints (``app.toolkit.ApiBlueprint``), documented in the OpenAPI spec."""
        return ()

    def cli_commands(self) -> Iterable["click.Command"]:
        """Click commands, added under ``flask``."""
        return ()

    def event_handlers(self) -> Iterable[EventHandlerSpec]:
        """``(event_type, handler)`` or ``(event_type, handler, background)`` triples."""
        return ()

    def init_app(self, app: "Flask") -> None:
        """Last chance to wire anything else; called once per app after the above."""


#: A flask-smorest blueprint whose responses use Inkwright's envelope; plugins build their
#: JSON endpoints with it so they document themselves in ``/api/openapi.json``.
ApiBlueprint = EnvelopeBlueprint

__all__ = [
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
