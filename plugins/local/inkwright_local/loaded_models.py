"""The GGUF models this process has loaded, each loaded once and used by one call at a time.

Loading a model takes a fraction of a second to seconds and hundreds of megabytes, so a worker
keeps each one for its life, by file and options. A ``threads`` worker runs many steps at once,
and ``llama_cpp.Llama`` is not thread-safe (one context, one KV cache), so every call holds its
model's lock: calls to one model are serialised, calls to different models are not.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .availability import LocalModelUnavailableError


@dataclass
class LoadedModel:
    """One ``llama_cpp.Llama`` and the lock a call holds while it uses it.

    ``prompt_tokens`` is the length of the last prompt the model read, as its chat template and
    tokenizer made it: llama-cpp-python's streamed chat chunks carry no usage, and its chat
    handler hands the tokenized prompt to ``create_completion``, which is counted here.
    """

    llama: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    prompt_tokens: int | None = None

    def __post_init__(self) -> None:
        complete = self.llama.create_completion

        def create_completion(*args: Any, **kwargs: Any) -> Any:
            prompt = kwargs.get("prompt", args[0] if args else None)
            self.prompt_tokens = len(prompt) if isinstance(prompt, list) else None
            return complete(*args, **kwargs)

        self.llama.create_completion = create_completion  # on this instance only

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's own vocabulary."""
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0


class LoadedModels:
    """Models by ``(process, file, context size, threads)``, loaded on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[int, str, int, int], LoadedModel] = {}

    def get(self, path: Path, *, context: int, threads: int) -> LoadedModel:
        """The model in ``path``, loading it if this process has not.

        :raises LocalModelUnavailableError: when llama.cpp cannot load the file.
        """
        # The process id is part of the key: a forked child never uses a model its parent
        # loaded (llama.cpp's state does not survive a fork), it loads its own.
        key = (os.getpid(), str(path), context, threads)
        with self._lock:
            model = self._loaded.get(key)
            if model is None:
                model = self._loaded[key] = LoadedModel(_load(path, context, threads))
            return model

    def forget(self) -> None:
        """Drop every loaded model (tests that count loads)."""
        with self._lock:
            self._loaded.clear()

    def __len__(self) -> int:
        return len(self._loaded)


def _load(path: Path, context: int, threads: int) -> Any:
    # Imported here, not at the top: llama-cpp-python is optional, and the plugin must import
    # (and say what is missing) without it. availability.require_available ran first.
    from llama_cpp import Llama

    options: dict[str, Any] = {"model_path": str(path), "n_ctx": context, "verbose": False}
    if threads:
        options["n_threads"] = threads
    try:
        return Llama(**options)
    except (ValueError, RuntimeError, OSError) as exc:
        raise LocalModelUnavailableError(f"llama.cpp could not load {path.name}: {exc}",
                                         {"provider": "local", "file": path.name}) from None


#: This process's models. A process-wide registry on purpose (like the openai provider's memory
#: of structured-output forms): a provider is built per call, a model must outlive the call.
MODELS = LoadedModels()
