"""The model provider contract: what a text or media backend implements (issue 4).

A provider turns a backend-neutral request into a backend's wire format and back. It does
no metering, no credits and no recording: the core's metering layer
(:mod:`app.engine.metering`) wraps every call, so a third-party provider cannot forget them.
Models are named ``provider:model`` (``openai:gpt-4o-mini``, ``offline:writer``).

Re-exported by :mod:`app.toolkit`; plugins import it from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Iterator, Mapping, Sequence

from .config import Setting
from .errors import ProviderRequestError


@dataclass(frozen=True)
class ModelInfo:
    """One model of the catalog: its context window and its price per 1,000 tokens (USD).

    :param name: ``provider:model``.
    :param input_per_1k: price of 1,000 prompt tokens; ``None`` when not priced.
    :param output_per_1k: price of 1,000 completion tokens; ``None`` when not priced.
    :param kind: ``text`` or a media type (``image``, ``audio``, ``video``).
    :param price_per_item: for media models, the price of one generation.
    """

    name: str
    context_window: int | None = None
    input_per_1k: Decimal | None = None
    output_per_1k: Decimal | None = None
    kind: str = "text"
    price_per_item: Decimal | None = None
    description: str = ""
    #: How this model's server is asked for JSON, overriding its provider's setting (the
    #: ``openai`` provider: ``json_schema``, ``json_object``, ``format``, ``prompt`` or ``auto``);
    #: ``None``: the provider's own way.
    structured_output: str | None = None

    @classmethod
    def text(cls, name: str, context_window: int, input_per_1k: str, output_per_1k: str,
             description: str = "") -> "ModelInfo":
        """A text model priced per 1,000 tokens, prices written as decimal strings (exact)."""
        return cls(name, context_window, Decimal(input_per_1k), Decimal(output_per_1k), description=description)

    @property
    def priced(self) -> bool:
        if self.kind == "text":
            return self.input_per_1k is not None and self.output_per_1k is not None
        return self.price_per_item is not None

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """Seed 001's ``calculate_cost``: tokens times the price per 1,000, in USD."""
        if self.kind != "text":
            return self.price_per_item or Decimal("0")
        return (Decimal(input_tokens) * (self.input_per_1k or 0) / 1000
                + Decimal(output_tokens) * (self.output_per_1k or 0) / 1000)


@dataclass(frozen=True)
class ProviderCredentials:
    """The key and address a call uses: the platform's, or a user's or tenant's own (BYOK)."""

    api_key: str | None = None
    base_url: str | None = None
    byok: bool = False

    def __repr__(self) -> str:  # never print a key, not even in a traceback
        return f"ProviderCredentials(base_url={self.base_url!r}, byok={self.byok}, api_key=***)"


@dataclass(frozen=True)
class CompletionRequest:
    """A text model call, independent of any backend's wire format.

    :param model: the model's name at its provider (without the ``provider:`` prefix).
    :param json_schema: when set, the answer must be JSON that fits this JSON Schema.
    :param seed: asks for repeatable output where the backend supports it.
    """

    model: str
    messages: tuple[dict[str, str], ...]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    json_schema: dict | None = None
    seed: int | None = None

    @property
    def prompt_text(self) -> str:
        """The messages as one readable text (what the AI response records as the prompt)."""
        return "\n\n".join(f"[{m.get('role', 'user')}]\n{m.get('content', '')}" for m in self.messages)


@dataclass(frozen=True)
class Completion:
    """What a text model answered, with the usage metering needs.

    :param model: the model the backend says answered (may differ from the one asked for).
    :param raw: the backend's response body as parsed JSON, kept for the record.
    """

    text: str
    input_tokens: int
    output_tokens: int
    model: str
    finish_reason: str = "stop"
    raw: dict[str, Any] = field(default_factory=dict)
    #: Set by the metering layer: the AI response row that recorded this completion.
    response_id: str | None = None
    #: Set by the metering layer: the text came from the offline provider, not a real model.
    offline: bool = False
    #: Where the token counts come from: ``reported`` by the server, ``counted`` with the
    #: model's tokenizer, or ``estimated`` from the text (:class:`~app.toolkit.UsageSource`).
    usage_source: str = "reported"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class CompletionChunk:
    """A piece of a streamed answer. The last chunk carries usage and the finish reason."""

    text: str
    done: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    #: On the last chunk: where its token counts come from (see :attr:`Completion.usage_source`).
    usage_source: str | None = None


@dataclass(frozen=True)
class MediaRequest:
    """An asynchronous media generation: an image, a piece of audio, a video."""

    model: str
    media_type: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaSubmission:
    """The provider accepted a generation and will finish it later."""

    job_id: str
    poll_interval: float = 1.0  # seconds between polls the provider asks for
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaPoll:
    """Where a generation is. When ``status`` is ``completed`` either ``content`` holds the
    bytes or ``result_uri`` says where :meth:`Provider.fetch` downloads them from."""

    status: str  # pending | processing | completed | failed
    result_uri: str | None = None
    content: bytes | None = None
    content_type: str | None = None
    error: str | None = None
    cost_usd: Decimal | None = None

    def __post_init__(self) -> None:
        if self.status not in {"pending", "processing", "completed", "failed"}:
            raise ValueError(f"unknown generation status {self.status!r}")


class Provider:
    """A model backend, found through the ``inkwright.providers`` entry point group.

    Text providers implement :meth:`complete` (and :meth:`stream` when the backend streams);
    media providers implement :meth:`submit`, :meth:`poll` and, when results are URLs,
    :meth:`fetch`. A provider instance is built per call with the credentials to use.

    :cvar name: the entry-point name, and the ``provider`` part of model names.
    :cvar kinds: what it generates: ``text`` and/or media types.
    :cvar models: models it knows, with prices; configuration may add or override them.
    :cvar requires_key: whether a call needs an API key (the offline provider does not).
    :cvar offline: whether its output is synthetic (labelled as offline output wherever shown).
    :cvar settings: its configuration keys, each named ``<NAME>_...``; ``<NAME>_API_KEY`` and
        ``<NAME>_BASE_URL`` are the platform's credentials. The provider receives their values in
        ``self.config`` without the prefix, in lower case (``api_key``, ``base_url``),
        beside the core's ``timeout``, ``max_retries`` and ``max_backoff``.
    :param config: the values of its settings (timeouts, retries, extra options).
    :param credentials: the key and base URL for this call.
    """

    name: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = ("text",)
    models: ClassVar[Sequence[ModelInfo]] = ()
    requires_key: ClassVar[bool] = True
    offline: ClassVar[bool] = False
    settings: ClassVar[Sequence[Setting]] = ()

    def __init__(self, config: Mapping[str, Any] | None = None,
                 credentials: ProviderCredentials | None = None) -> None:
        self.config = dict(config or {})
        self.credentials = credentials or ProviderCredentials()

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer a completion request.

        :raises ExternalServiceError: (or a ``Provider*Error`` subclass) when the backend
            fails, refuses, times out or answers garbage.
        """
        raise ProviderRequestError(f"Provider {self.name!r} does not generate text.")

    def stream(self, request: CompletionRequest) -> Iterator[CompletionChunk]:
        """Yield the answer as it is generated; the default yields the whole completion once."""
        completion = self.complete(request)
        yield CompletionChunk(text=completion.text, done=True, input_tokens=completion.input_tokens,
                              output_tokens=completion.output_tokens, finish_reason=completion.finish_reason,
                              model=completion.model)

    def submit(self, request: MediaRequest) -> MediaSubmission:
        """Start an asynchronous generation.

        :raises ExternalServiceError: when the backend refuses or fails.
        """
        raise ProviderRequestError(f"Provider {self.name!r} does not generate {request.media_type}.")

    def poll(self, job_id: str) -> MediaPoll:
        """Say where a submitted generation is."""
        raise ProviderRequestError(f"Provider {self.name!r} has no generation jobs.")

    def fetch(self, result_uri: str) -> bytes:
        """Download a finished generation's bytes from where :meth:`poll` said they are."""
        raise ProviderRequestError(f"Provider {self.name!r} cannot download {result_uri!r}.")

    @classmethod
    def definition_problems(cls) -> list[str]:
        """What is wrong with the class as a plugin declares it (empty when fine)."""
        problems = [] if cls.name else ["has no name"]
        prefix = cls.name.upper().replace("-", "_") + "_"
        for setting in cls.settings:
            if not setting.key.startswith(prefix):
                problems.append(f"setting {setting.key} must carry the provider's prefix {prefix}")
        if "text" in cls.kinds and cls.complete is Provider.complete:
            problems.append("declares kind 'text' but does not implement complete()")
        media = [kind for kind in cls.kinds if kind != "text"]
        if media and (cls.submit is Provider.submit or cls.poll is Provider.poll):
            problems.append(f"declares media kinds {media} but does not implement submit() and poll()")
        for model in cls.models:
            if not model.name.startswith(f"{cls.name}:"):
                problems.append(f"model {model.name!r} is not named {cls.name}:<model>")
        return problems


__all__ = ["Completion", "CompletionChunk", "CompletionRequest", "MediaPoll", "MediaRequest", "MediaSubmission",
           "ModelInfo", "Provider", "ProviderCredentials"]
