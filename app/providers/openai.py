"""``openai``: any OpenAI-compatible chat completions API.

One client serves OpenAI itself, OpenRouter, vLLM, llama.cpp's server and Ollama: point
``OPENAI_BASE_URL`` at the server (``http://localhost:11434/v1`` for Ollama) and leave the
key empty for a local one, which then gets no ``Authorization`` header at all.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from app.toolkit import (
    Completion,
    CompletionChunk,
    CompletionRequest,
    ExternalServiceError,
    ModelInfo,
    ProviderResponseError,
    Setting,
)

from .http import HttpProvider, read_usage
from .structured_output import AUTO, FORMS, MEMORY, apply_form, ask_in_turn


def _structured_output_check(value: Any, _config: Any) -> str | None:
    return None if value in (AUTO, *FORMS) else f"must be one of {', '.join((AUTO, *FORMS))}"


def _base_url_check(value: Any, _config: Any) -> str | None:
    """A base URL must be one before the first call, not fail at it (``not a url`` once passed)."""
    parts = urlsplit(str(value))
    return None if parts.scheme in ("http", "https") and parts.netloc else "must be an http:// or https:// URL"


_T = TypeVar("_T")


class OpenAIProvider(HttpProvider):
    """Chat completions over ``POST {base_url}/chat/completions``, whole or streamed."""

    name = "openai"
    kinds = ("text",)
    default_base_url = "https://api.openai.com/v1"
    # USD per 1,000 tokens, from OpenAI's published prices; MODEL_CATALOG may re-price or add.
    models = (
        ModelInfo.text("openai:gpt-4o-mini", 128_000, "0.00015", "0.0006", "Small, fast and cheap GPT-4o."),
        ModelInfo.text("openai:gpt-4o", 128_000, "0.0025", "0.01", "OpenAI's multimodal flagship of 2024."),
        ModelInfo.text("openai:gpt-4.1", 1_047_576, "0.002", "0.008",
                       "Long context, strong at following instructions."),
        ModelInfo.text("openai:gpt-4.1-mini", 1_047_576, "0.0004", "0.0016", "GPT-4.1's small sibling."),
        ModelInfo.text("openai:gpt-4.1-nano", 1_047_576, "0.0001", "0.0004", "The cheapest GPT-4.1."),
    )
    settings = (
        Setting("OPENAI_API_KEY", "", "platform API key of the OpenAI-compatible server (empty: send none, "
                "as local servers want)", env=("OPENAI_API_KEY",), secret=True),
        Setting("OPENAI_BASE_URL", default_base_url, "base URL of the OpenAI-compatible API (OpenAI, "
                "OpenRouter, vLLM, llama.cpp, Ollama's /v1)", env=("OPENAI_BASE_URL",), check=_base_url_check),
        Setting("OPENAI_STRUCTURED_OUTPUT", AUTO, "how the server is asked for JSON: auto (try json_schema, "
                "json_object, format, prompt in turn and remember what worked) or one of those",
                check=_structured_output_check),
    )

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer with one chat completion (JSON asked for as this server understands it).

        :raises ExternalServiceError: (or a ``Provider*Error``) when the server fails or refuses.
        """
        if request.json_schema is None:
            return self._complete(self.body(request), request)
        return self._structured(request, lambda body: self._complete(body, request))

    def stream(self, request: CompletionRequest) -> Iterator[CompletionChunk]:
        """Yield the answer as the server streams it; the last chunk carries usage."""
        if request.json_schema is None:
            yield from self._stream(self.body(request), request)
            return

        def start(body: dict[str, Any]) -> tuple[CompletionChunk | None, Iterator[CompletionChunk]]:
            chunks = self._stream(body, request)
            return next(chunks, None), chunks  # a refused form is refused before the first chunk
        first, rest = self._structured(request, start)
        if first is not None:
            yield first
            yield from rest

    def _structured(self, request: CompletionRequest, send: Callable[[dict[str, Any]], _T]) -> _T:
        """``send`` the request with its JSON asked for in each form in turn, until the server
        takes one (structured_output.py); the form that worked is remembered."""
        configured = str(self.config.get("structured_output") or AUTO)
        body = self.body(request)
        return ask_in_turn(MEMORY.order(self.base_url, request.model, configured),
                           lambda form: send(apply_form(form, body, request)),
                           lambda form: MEMORY.worked(self.base_url, request.model, form))

    def _complete(self, body: dict[str, Any], request: CompletionRequest) -> Completion:
        data = self.transport.post_json(self.url, body, self.headers())
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self.missing("choices")
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise self.missing("choices[0].message")
        text = message.get("content")
        if text is None:
            text = ""  # a refusal or a content filter: the finish reason says which
        if not isinstance(text, str):
            raise ProviderResponseError(f"{self.name} answered content that is not text.", {"provider": self.name})
        input_tokens, output_tokens, source = self._usage(data.get("usage"), request, text)
        return Completion(text=text, input_tokens=input_tokens, output_tokens=output_tokens,
                          model=str(data.get("model") or request.model),
                          finish_reason=str(choices[0].get("finish_reason") or "stop"), raw=data,
                          usage_source=source)

    def _stream(self, body: dict[str, Any], request: CompletionRequest) -> Iterator[CompletionChunk]:
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        parts: list[str] = []
        usage: Any = None
        finish_reason: str | None = None
        model = request.model
        for event in self.transport.stream_events(self.url, body, self.headers()):
            if event.get("error"):
                raise ExternalServiceError(f"{self.name} failed mid-stream: {self.transport.error_text(event)}",
                                           {"provider": self.name})
            model = str(event.get("model") or model)
            usage = event.get("usage") or usage
            for choice in event.get("choices") or ():
                # A server that ignored "stream" sent the whole message as its one event.
                delta = choice.get("delta") or choice.get("message") or {}
                text = delta.get("content")
                if text:
                    parts.append(text)
                    yield CompletionChunk(text=text)
                finish_reason = choice.get("finish_reason") or finish_reason
        if finish_reason is None:
            raise ProviderResponseError(f"{self.name} ended the stream before the answer was complete.",
                                        {"provider": self.name})
        input_tokens, output_tokens, source = self._usage(usage, request, "".join(parts))
        yield CompletionChunk(text="", done=True, input_tokens=input_tokens, output_tokens=output_tokens,
                              finish_reason=finish_reason, model=model, usage_source=source)

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def body(self, request: CompletionRequest) -> dict[str, Any]:
        """The request in the chat completions wire format."""
        body: dict[str, Any] = {"model": request.model, "messages": [dict(m) for m in request.messages]}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        return body  # a JSON schema is asked for by _structured, as the server understands it

    def _usage(self, usage: Any, request: CompletionRequest, text: str) -> tuple[int, int, str]:
        # Some local servers report no usage, in a stream above all; metering still needs a
        # number, so it is estimated and labelled so.
        usage = usage if isinstance(usage, dict) else {}
        return read_usage(self.name, usage.get("prompt_tokens"), usage.get("completion_tokens"),
                          request.prompt_text, text)
