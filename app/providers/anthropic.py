"""``anthropic``: Anthropic's Messages API (``POST {base_url}/v1/messages``).

JSON output is asked for with a forced tool named ``output`` whose input schema is the one
requested; the tool's input comes back as the completion's text, serialised as JSON.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

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

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # the Messages API refuses a request without max_tokens
TOOL_NAME = "output"
#: The Messages API says why it stopped in its own words; the toolkit speaks OpenAI's.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "max_tokens": "length"}
#: Catalog names that are not themselves API model ids, and the alias the API knows them by.
API_MODEL_IDS = {"claude-sonnet-4": "claude-sonnet-4-0", "claude-opus-4": "claude-opus-4-0",
                 "claude-3-5-haiku": "claude-3-5-haiku-latest"}



class AnthropicProvider(HttpProvider):
    """Claude models over the Messages API, whole or streamed."""

    name = "anthropic"
    kinds = ("text",)
    default_base_url = "https://api.anthropic.com"
    # USD per 1,000 tokens, from Anthropic's published prices; MODEL_CATALOG may re-price or add.
    models = (
        ModelInfo.text("anthropic:claude-sonnet-4", 200_000, "0.003", "0.015",
                       "Claude Sonnet 4: strong writing at a mid price."),
        ModelInfo.text("anthropic:claude-sonnet-4-5", 200_000, "0.003", "0.015", "Claude Sonnet 4.5."),
        ModelInfo.text("anthropic:claude-opus-4", 200_000, "0.015", "0.075",
                       "Claude Opus 4: the most capable, the dearest."),
        ModelInfo.text("anthropic:claude-haiku-4-5", 200_000, "0.001", "0.005", "Claude Haiku 4.5: fast and cheap."),
        ModelInfo.text("anthropic:claude-3-5-haiku", 200_000, "0.0008", "0.004", "Claude 3.5 Haiku."),
    )
    settings = (
        Setting("ANTHROPIC_API_KEY", "", "platform API key for Anthropic's Messages API",
                env=("ANTHROPIC_API_KEY",), secret=True),
        Setting("ANTHROPIC_BASE_URL", default_base_url, "base URL of the Messages API (without /v1)",
                env=("ANTHROPIC_BASE_URL",)),
    )

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer with one message.

        :raises ExternalServiceError: (or a ``Provider*Error``) when the API fails or refuses.
        """
        data = self.transport.post_json(self.url, self.body(request), self.headers())
        content = data.get("content")
        if not isinstance(content, list):
            raise self.missing("content")
        blocks = [block for block in content if isinstance(block, dict)]
        if request.json_schema is not None:
            text = self._tool_output(blocks, request.json_schema)
        else:
            text = "".join(str(block.get("text", "")) for block in blocks if block.get("type") == "text")
        input_tokens, output_tokens, source = self._usage(data.get("usage"), request, text)
        return Completion(text=text, input_tokens=input_tokens, output_tokens=output_tokens,
                          model=str(data.get("model") or request.model),
                          finish_reason=self._finish_reason(data.get("stop_reason")), raw=data,
                          usage_source=source)

    def stream(self, request: CompletionRequest) -> Iterator[CompletionChunk]:
        """Yield the answer as the API streams it; the last chunk carries usage.

        With a JSON schema the chunks are pieces of the JSON text (the tool's input as it is
        generated), except when the schema had to be wrapped in an object: then the whole
        JSON arrives in the last chunk.
        """
        body = {**self.body(request), "stream": True}
        wrapped = request.json_schema is not None and _needs_wrapping(request.json_schema)
        parts: list[str] = []
        usage: dict[str, Any] = {}
        stop_reason: Any = None
        model = request.model
        finished = False
        for event in self.transport.stream_events(self.url, body, self.headers()):
            kind = event.get("type")
            if kind == "error":
                raise ExternalServiceError(f"{self.name} failed mid-stream: {self.transport.error_text(event)}",
                                           {"provider": self.name})
            if kind == "message_start":
                message = event.get("message") or {}
                model = str(message.get("model") or model)
                usage.update(message.get("usage") or {})
            elif kind == "content_block_delta":
                delta = event.get("delta") or {}
                # With a schema the answer is the forced tool's input, never free text.
                if request.json_schema is None:
                    text = delta.get("text") if delta.get("type") == "text_delta" else None
                else:
                    text = delta.get("partial_json") if delta.get("type") == "input_json_delta" else None
                if text:
                    parts.append(text)
                    if not wrapped:
                        yield CompletionChunk(text=text)
            elif kind == "message_delta":
                stop_reason = (event.get("delta") or {}).get("stop_reason") or stop_reason
                usage.update(event.get("usage") or {})
            elif kind == "message_stop":
                finished = True
        if not finished:
            raise ProviderResponseError(f"{self.name} ended the stream before the answer was complete.",
                                        {"provider": self.name})
        text = "".join(parts)
        last_text = ""
        if wrapped:
            last_text = text = self._unwrap(text)
        input_tokens, output_tokens, source = self._usage(usage, request, text)
        yield CompletionChunk(text=last_text, done=True, input_tokens=input_tokens, output_tokens=output_tokens,
                              finish_reason=self._finish_reason(stop_reason), model=model, usage_source=source)

    @property
    def url(self) -> str:
        # Accept a base URL given with or without the version, as people copy both.
        base = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url
        return f"{base}/v1/messages"

    def headers(self) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def body(self, request: CompletionRequest) -> dict[str, Any]:
        """The request in the Messages API's wire format: system messages go to ``system``."""
        system = [m.get("content", "") for m in request.messages if m.get("role") == "system"]
        body: dict[str, Any] = {
            "model": API_MODEL_IDS.get(request.model, request.model),
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": m.get("role", "user"), "content": m.get("content", "")}
                         for m in request.messages if m.get("role") != "system"],
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.json_schema is not None:
            schema = request.json_schema
            if _needs_wrapping(schema):
                schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
            body["tools"] = [{"name": TOOL_NAME, "description": "Give the answer as this tool's input.",
                              "input_schema": schema}]
            body["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
        return body

    def _tool_output(self, blocks: list[dict[str, Any]], schema: dict) -> str:
        for block in blocks:
            if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
                value = block.get("input")
                if _needs_wrapping(schema):
                    value = value.get("value") if isinstance(value, dict) else None
                return json.dumps(value, ensure_ascii=False)
        raise self.missing(f"the forced {TOOL_NAME!r} tool call")

    def _unwrap(self, text: str) -> str:
        try:
            value = json.loads(text)
        except ValueError:
            raise ProviderResponseError(f"{self.name} streamed tool input that is not JSON.",
                                        {"provider": self.name}) from None
        return json.dumps(value.get("value") if isinstance(value, dict) else None, ensure_ascii=False)

    @staticmethod
    def _finish_reason(stop_reason: Any) -> str:
        if not stop_reason:
            return "stop"
        return FINISH_REASONS.get(str(stop_reason), str(stop_reason))

    def _usage(self, usage: Any, request: CompletionRequest, text: str) -> tuple[int, int, str]:
        usage = usage if isinstance(usage, dict) else {}
        prompt = usage.get("input_tokens")
        if isinstance(prompt, int) and not isinstance(prompt, bool) and prompt >= 0:
            # Prompt-cache tokens are billed input too, reported apart from input_tokens.
            prompt += sum(usage.get(k) or 0 for k in ("cache_creation_input_tokens", "cache_read_input_tokens")
                          if isinstance(usage.get(k), int) and usage[k] > 0)
        return read_usage(self.name, prompt, usage.get("output_tokens"), request.prompt_text, text)


def _needs_wrapping(schema: dict) -> bool:
    """A tool's input must be a JSON object; any other schema travels inside one."""
    return schema.get("type") != "object"
