"""The OpenAI-compatible provider against a real loopback server speaking chat completions."""

from __future__ import annotations

import json
import time

import pytest

from app.providers.openai import OpenAIProvider
from app.toolkit import CompletionRequest, ExternalServiceError, ProviderCredentials

from .conftest import Reply, sse

KEY = "sk-platform-key-abcdef123456"
SCHEMA = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}


def completion_body(text: str = "Once upon a time.", *, finish: str = "stop", model: str = "gpt-4o-mini-2024-07-18",
                    usage: dict | None = None) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage or {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}


def chunk(content: str | None = None, finish: str | None = None, usage: dict | None = None) -> str:
    choices = [] if usage else [{"index": 0, "delta": {"content": content} if content else {},
                                 "finish_reason": finish}]
    return sse({"id": "c", "model": "gpt-4o-mini", "choices": choices, **({"usage": usage} if usage else {})})


@pytest.fixture
def provider(server, sleeps):
    """Build an OpenAIProvider pointed at the fake server; its waits go to ``sleeps``."""

    def build(credentials: ProviderCredentials | None = None, **config) -> OpenAIProvider:
        config = {"api_key": KEY, "base_url": server.url + "/v1", "timeout": 5.0, "max_retries": 3,
                  "max_backoff": 30.0, **config}
        built = OpenAIProvider(config, credentials)
        built.transport.sleep = sleeps.append
        return built

    return build


def ask(**fields) -> CompletionRequest:
    return CompletionRequest(**{"model": "gpt-4o-mini", "messages": ({"role": "user", "content": "Tell a tale."},),
                                **fields})


def test_a_completion_brings_text_usage_and_the_answering_model(server, provider):
    server.play(Reply(body=completion_body("Once upon a time.")))

    completion = provider().complete(ask())

    assert completion.text == "Once upon a time."
    assert (completion.input_tokens, completion.output_tokens) == (12, 5)
    assert completion.model == "gpt-4o-mini-2024-07-18" and completion.finish_reason == "stop"
    assert completion.raw["id"] == "chatcmpl-1"


def test_the_request_speaks_chat_completions_with_a_bearer_key(server, provider):
    server.play(Reply(body=completion_body()))

    provider().complete(ask(temperature=0.3, max_tokens=50, stop=("THE END",), seed=7,
                            messages=({"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Tell a tale."})))

    sent = server.received[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {"model": "gpt-4o-mini", "temperature": 0.3, "max_tokens": 50, "stop": ["THE END"],
                         "seed": 7, "messages": [{"role": "system", "content": "Be brief."},
                                                 {"role": "user", "content": "Tell a tale."}]}


def test_a_json_schema_becomes_a_json_schema_response_format(server, provider):
    server.play(Reply(body=completion_body('{"title": "Tides"}')))

    completion = provider().complete(ask(json_schema=SCHEMA))

    assert server.received[0].body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}}
    assert json.loads(completion.text) == {"title": "Tides"}


def test_a_local_server_without_a_key_gets_no_authorization_header(server, provider):
    server.play(Reply(body=completion_body()))

    provider(api_key="").complete(ask())

    assert "authorization" not in server.received[0].headers


def test_byok_credentials_win_over_the_platform_configuration(server, provider):
    server.play(Reply(body=completion_body()))
    credentials = ProviderCredentials(api_key="sk-user-own-key-987654", base_url=server.url + "/byok/v1", byok=True)

    provider(credentials, base_url="http://127.0.0.1:9/unused").complete(ask())

    assert server.received[0].path == "/byok/v1/chat/completions"
    assert server.received[0].headers["authorization"] == "Bearer sk-user-own-key-987654"


def test_rate_limiting_waits_as_long_as_retry_after_says_then_succeeds(server, provider, sleeps):
    server.play(Reply(429, {"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "3"}),
             Reply(body=completion_body("Patience paid.")))

    assert provider().complete(ask()).text == "Patience paid."
    assert sleeps == [3.0] and len(server.received) == 2


def test_a_server_error_is_retried_until_it_passes(server, provider, sleeps):
    server.play(Reply(502), Reply(503), Reply(body=completion_body("Back again.")))

    assert provider().complete(ask()).text == "Back again."
    assert len(sleeps) == 2


def test_a_server_failing_every_attempt_ends_in_an_external_service_error(server, provider):
    server.play(Reply(500, {"error": {"message": "The server had an error"}}))

    with pytest.raises(ExternalServiceError) as caught:
        provider(max_retries=2).complete(ask())

    assert caught.value.code == "EXTERNAL_SERVICE_ERROR" and caught.value.retryable
    assert "The server had an error" in caught.value.message and len(server.received) == 3


def test_a_server_slower_than_the_timeout_is_a_provider_timeout(server, provider):
    server.play(Reply(delay=1.0, body=completion_body()))

    with pytest.raises(ExternalServiceError) as caught:
        provider(timeout=0.2).complete(ask())

    assert caught.value.code == "PROVIDER_TIMEOUT"


@pytest.mark.parametrize("body", ["not json at all", {"id": "x", "choices": []}, {"choices": [{"message": None}]}])
def test_an_answer_outside_the_protocol_is_a_bad_response(server, provider, body):
    server.play(Reply(body=body))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask())

    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


def test_a_refused_key_fails_at_once_and_the_key_stays_secret(server, provider, sleeps):
    server.play(Reply(401, {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask())

    assert caught.value.code == "PROVIDER_AUTH_FAILED" and not caught.value.retryable
    assert len(server.received) == 1 and sleeps == []
    assert KEY not in caught.value.message and KEY not in str(caught.value.details)
    assert "Incorrect API key provided" in caught.value.message


def test_a_bad_request_is_rejected_with_the_providers_reason(server, provider):
    server.play(Reply(400, {"error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error"}}))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask(model="gpt-9"))

    assert caught.value.code == "PROVIDER_REQUEST_REJECTED"
    assert "The model `gpt-9` does not exist" in caught.value.message and len(server.received) == 1


def test_streaming_yields_pieces_in_order_and_ends_with_usage(server, provider):
    server.play(Reply(events=[chunk("Once"), chunk(" upon"), chunk(" a time."), chunk(finish="stop"),
                           chunk(usage={"prompt_tokens": 9, "completion_tokens": 4}), sse("[DONE]")],
                   event_gap=0.01))

    chunks = list(provider().stream(ask()))

    assert [c.text for c in chunks[:-1]] == ["Once", " upon", " a time."]
    last = chunks[-1]
    assert last.done and (last.input_tokens, last.output_tokens) == (9, 4) and last.finish_reason == "stop"
    assert server.received[0].body["stream"] is True
    assert server.received[0].body["stream_options"] == {"include_usage": True}


def test_streamed_text_arrives_while_the_server_is_still_writing(server, provider):
    server.play(Reply(events=[chunk("First"), chunk(" second"), chunk(" third"), chunk(finish="stop"),
                           sse("[DONE]")], event_gap=0.25))

    started = time.monotonic()
    arrivals = [(c.text, time.monotonic() - started) for c in provider().stream(ask())]

    assert arrivals[0][0] == "First" and arrivals[0][1] < 0.2
    assert arrivals[-1][1] >= 0.75


def test_a_stream_cut_off_before_its_end_is_a_bad_response(server, provider):
    server.play(Reply(events=[chunk("Once"), chunk(" upon")]))

    with pytest.raises(ExternalServiceError) as caught:
        list(provider().stream(ask()))

    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


def test_the_provider_declares_itself_as_a_plugin_should():
    assert OpenAIProvider.definition_problems() == []
    assert {s.key for s in OpenAIProvider.settings} == {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_STRUCTURED_OUTPUT"}
    assert all(setting.secret for setting in OpenAIProvider.settings if setting.key.endswith("_API_KEY"))
    mini = {m.name: m for m in OpenAIProvider.models}["openai:gpt-4o-mini"]
    assert mini.context_window == 128_000 and mini.cost(1000, 1000) == mini.input_per_1k + mini.output_per_1k


def test_a_server_that_ignores_stream_and_answers_json_is_read_as_one_piece(server, provider):
    server.play(Reply(200, completion_body("Whole at once.")))

    pieces = list(provider().stream(ask()))

    assert "".join(piece.text for piece in pieces) == "Whole at once."
    assert pieces[-1].done and pieces[-1].usage_source == "reported"
