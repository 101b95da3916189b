"""What a skill is, and the context it works through (re-exported by :mod:`app.toolkit`).

Kept apart from the toolkit so the engine, which runs skills, never imports the facade
that plugins use (and the facade may offer the engine's services in turn).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Sequence

from marshmallow import Schema

from .provider import Completion


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
                 on_chunk: "Callable[[str], None] | None" = None, stream: bool = False) -> "Completion":
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
        :param stream: show the answer on the run's live page as it is written (``step.text``
            events, about ten a second); the completion returned is the same.
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
