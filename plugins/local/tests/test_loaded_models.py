"""A process loads each GGUF once, and calls to one model from many threads take turns (a
``threads`` worker runs several steps at once; ``llama_cpp.Llama`` is not thread-safe)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from inkwright_local.availability import LocalModelUnavailableError
from inkwright_local.loaded_models import MODELS
from inkwright_local.model_files import smollm2_gguf
from inkwright_local.provider import LocalProvider

from app.toolkit import CompletionRequest

pytestmark = [pytest.mark.usefixtures("real_model"), pytest.mark.timeout(120)]


def ask(content: str, model: str = "smollm2") -> CompletionRequest:
    return CompletionRequest(model=model, messages=({"role": "user", "content": content},), max_tokens=8,
                             temperature=0.0)


def test_a_model_is_loaded_once_per_file_and_options(fresh_models):
    provider = LocalProvider({"models": {"alias": str(smollm2_gguf())}, "threads": 1})
    provider.complete(ask("One."))
    provider.complete(ask("Two.", model="alias"))  # another name for the same file: the same model
    first = MODELS.get(smollm2_gguf(), context=2048, threads=1)
    assert len(MODELS) == 1 and MODELS.get(smollm2_gguf(), context=2048, threads=1) is first
    LocalProvider({"context": 512, "threads": 1}).complete(ask("Three."))
    assert len(MODELS) == 2  # a different context size is a different llama.cpp context


def test_concurrent_calls_to_one_model_take_turns_and_all_answer(fresh_models):
    model = MODELS.get(smollm2_gguf(), context=2048, threads=1)
    inside, most_inside = 0, 0
    counter = threading.Lock()
    create = model.llama.create_completion

    def watched(*args, **kwargs):
        nonlocal inside, most_inside
        with counter:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            return create(*args, **kwargs)
        finally:
            with counter:
                inside -= 1

    model.llama.create_completion = watched
    prompts = [f"Name animal number {n}." for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        streamed = pool.submit(lambda: list(LocalProvider({"threads": 1}).stream(ask("Name a bird."))))
        answers = list(pool.map(lambda prompt: LocalProvider({"threads": 1}).complete(ask(prompt)), prompts))
    assert all(answer.text.strip() and answer.output_tokens > 0 for answer in answers)
    assert streamed.result()[-1].done and "".join(piece.text for piece in streamed.result()).strip()
    assert most_inside == 1


def test_a_file_llama_cpp_cannot_load_is_unavailable_not_a_crash(fresh_models, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(64))  # passes the start-up check, is no model
    with pytest.raises(LocalModelUnavailableError) as caught:
        LocalProvider({"models": {"broken": str(broken)}}).complete(ask("Hello.", model="broken"))
    assert caught.value.details == {"provider": "local", "file": "broken.gguf"}
    assert len(MODELS) == 0  # not kept: the next call tries again
