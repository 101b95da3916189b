"""The Anthropic provider against a real loopback server speaking the Messages API."""

from __future__ import annotations

import json

import pytest

from app.providers.anthropic import AnthropicProvider
from app.toolkit import CompletionRequest, ExternalServiceError, ProviderCredentials

from .conftest import Reply, sse

KEY = "sk-ant-api03-secret-key-xyz789"
SCHEMA = {"type": "object", "required": ["title", "tags"],
          "properties": {"title": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}


def message_body(text: str = "The sea was calm.", *, stop_reason: str = "end_turn",
                 content: list | None = None, usage: dict | None = None) -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": content if content is not None else [{"type": "text", "text": text}],
            "stop_reason": stop_reason, "usage": usage or {"input_tokens": 21, "output_tokens": 6}}


def stream_events(*deltas: dict, stop_reason: str = "end_turn", block: dict | None = None) -> list[str]:
    return [
        sse({"type": "message_start", "message": {"id": "msg_1", "model": "claude-sonnet-4-20250514",
                                                  "usage": {"input_tokens": 25, "output_tokens": 1}}},
            event="message_start"),
        sse({"type": "content_block_start", "index": 0, "content_block": block or {"type": "text", "text": ""}},
            event="content_block_start"),
        sse({"type": "ping"}, event="ping"),
        *(sse({"type": "content_block_delta", "index": 0, "delta": delta}, event="content_block_delta")
          for delta in deltas),
        sse({"type": "content_block_stop", "index": 0}, event="content_block_stop"),
        sse({"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": {"output_tokens": 15}},
            event="message_delta"),
        sse({"type": "message_stop"}, event="message_stop"),
    ]


@pytest.fixture
def provider(server, sleeps):
    """Build an AnthropicProvider pointed at the fake server; its waits go to ``sleeps``."""

    def build(credentials: ProviderCredentials | None = None, **config) -> AnthropicProvider:
        config = {"api_key": KEY, "base_url": server.url, "timeout": 5.0, "max_retries": 3, "max_backoff": 30.0,
                  **config}
        built = AnthropicProvider(config, credentials)
        built.transport.sleep = sleeps.append
        return built

    return build


def ask(**fields) -> CompletionRequest:
    return CompletionRequest(**{"model": "claude-sonnet-4",
                                "messages": ({"role": "system", "content": "You write sea stories."},
                                             {"role": "user", "content": "Describe the sea."}), **fields})


def test_a_message_brings_text_usage_and_the_answering_model(server, provider):
    server.play(Reply(body=message_body(content=[{"type": "text", "text": "The sea "},
                                              {"type": "text", "text": "was calm."}])))

    completion = provider().complete(ask())

    assert completion.text == "The sea was calm."
    assert (completion.input_tokens, completion.output_tokens) == (21, 6)
    assert completion.model == "claude-sonnet-4-20250514" and completion.finish_reason == "stop"


def test_the_request_speaks_the_messages_api(server, provider):
    server.play(Reply(body=message_body()))

    provider().complete(ask(temperature=0.5, stop=("END",)))

    sent = server.received[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {"model": "claude-sonnet-4-0", "max_tokens": 1024, "system": "You write sea stories.",
                         "messages": [{"role": "user", "content": "Describe the sea."}],
                         "temperature": 0.5, "stop_sequences": ["END"]}


def test_max_tokens_is_passed_and_hitting_it_reads_as_length(server, provider):
    server.play(Reply(body=message_body("The sea was", stop_reason="max_tokens")))

    completion = provider().complete(ask(max_tokens=3))

    assert server.received[0].body["max_tokens"] == 3 and completion.finish_reason == "length"


def test_a_base_url_ending_in_v1_is_not_doubled(server, provider):
    server.play(Reply(body=message_body()))

    provider(base_url=server.url + "/v1/").complete(ask())

    assert server.received[0].path == "/v1/messages"


def test_byok_credentials_win_over_the_platform_key(server, provider):
    server.play(Reply(body=message_body()))

    provider(ProviderCredentials(api_key="sk-ant-user-own-111", byok=True)).complete(ask())

    assert server.received[0].headers["x-api-key"] == "sk-ant-user-own-111"


def test_a_json_schema_is_a_forced_tool_whose_input_is_the_answer(server, provider):
    server.play(Reply(body=message_body(stop_reason="tool_use", content=[
        {"type": "tool_use", "id": "toolu_1", "name": "output", "input": {"title": "Tides", "tags": ["sea"]}}])))

    completion = provider().complete(ask(json_schema=SCHEMA))

    assert json.loads(completion.text) == {"title": "Tides", "tags": ["sea"]}
    assert completion.finish_reason == "stop"
    body = server.received[0].body
    assert body["tools"][0]["name"] == "output" and body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "output"}


def test_a_schema_that_is_not_an_object_travels_wrapped_and_comes_back_bare(server, provider):
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 2}
    server.play(Reply(body=message_body(stop_reason="tool_use", content=[
        {"type": "tool_use", "id": "toolu_1", "name": "output", "input": {"value": ["gull", "tide"]}}])))

    completion = provider().complete(ask(json_schema=schema))

    assert json.loads(completion.text) == ["gull", "tide"]
    assert server.received[0].body["tools"][0]["input_schema"]["properties"]["value"] == schema


def test_a_json_answer_without_the_tool_call_is_a_bad_response(server, provider):
    server.play(Reply(body=message_body("Sure! Here is some JSON.")))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask(json_schema=SCHEMA))

    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


def test_rate_limiting_waits_as_long_as_retry_after_says_then_succeeds(server, provider, sleeps):
    server.play(Reply(429, {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}},
                   headers={"Retry-After": "5"}),
             Reply(body=message_body("Calm again.")))

    assert provider().complete(ask()).text == "Calm again."
    assert sleeps == [5.0]


def test_an_overloaded_api_is_retried_until_it_answers(server, provider, sleeps):
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.play(Reply(529, overloaded), Reply(500), Reply(body=message_body("Here.")))

    assert provider().complete(ask()).text == "Here."
    assert len(sleeps) == 2 and len(server.received) == 3


def test_an_api_failing_every_attempt_ends_in_an_external_service_error(server, provider):
    server.play(Reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))

    with pytest.raises(ExternalServiceError) as caught:
        provider(max_retries=1).complete(ask())

    assert caught.value.code == "EXTERNAL_SERVICE_ERROR" and "Overloaded" in caught.value.message
    assert caught.value.details["status"] == 529 and len(server.received) == 2


def test_an_api_slower_than_the_timeout_is_a_provider_timeout(server, provider):
    server.play(Reply(delay=1.0, body=message_body()))

    with pytest.raises(ExternalServiceError) as caught:
        provider(timeout=0.2).complete(ask())

    assert caught.value.code == "PROVIDER_TIMEOUT"


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", {"type": "message", "content": "text"}])
def test_an_answer_outside_the_protocol_is_a_bad_response(server, provider, body):
    server.play(Reply(body=body))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask())

    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


def test_a_refused_key_fails_at_once_and_the_key_stays_secret(server, provider, sleeps):
    server.play(Reply(401, {"type": "error", "error": {"type": "authentication_error",
                                                    "message": f"invalid x-api-key {KEY}"}}))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask())

    assert caught.value.code == "PROVIDER_AUTH_FAILED" and len(server.received) == 1 and sleeps == []
    assert KEY not in caught.value.message and KEY not in str(caught.value.details)


def test_a_bad_request_is_rejected_with_the_apis_reason(server, provider):
    server.play(Reply(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                    "message": "messages: roles must alternate"}}))

    with pytest.raises(ExternalServiceError) as caught:
        provider().complete(ask())

    assert caught.value.code == "PROVIDER_REQUEST_REJECTED"
    assert "roles must alternate" in caught.value.message


def test_streaming_yields_text_in_order_and_ends_with_both_usages(server, provider):
    server.play(Reply(events=stream_events({"type": "text_delta", "text": "The sea"},
                                        {"type": "text_delta", "text": " was"},
                                        {"type": "text_delta", "text": " calm."}), event_gap=0.01))

    chunks = list(provider().stream(ask()))

    assert [c.text for c in chunks[:-1]] == ["The sea", " was", " calm."]
    last = chunks[-1]
    assert last.done and (last.input_tokens, last.output_tokens) == (25, 15)
    assert last.finish_reason == "stop" and last.model == "claude-sonnet-4-20250514"
    assert server.received[0].body["stream"] is True


def test_streamed_json_is_the_tools_input_as_it_is_written(server, provider):
    server.play(Reply(events=stream_events({"type": "input_json_delta", "partial_json": '{"title": "Ti'},
                                        {"type": "input_json_delta", "partial_json": 'des", "tags": []}'},
                                        stop_reason="tool_use",
                                        block={"type": "tool_use", "id": "t", "name": "output", "input": {}})))

    chunks = list(provider().stream(ask(json_schema=SCHEMA)))

    assert json.loads("".join(c.text for c in chunks)) == {"title": "Tides", "tags": []}


def test_an_error_event_mid_stream_fails_the_call(server, provider):
    events = stream_events({"type": "text_delta", "text": "The sea"})
    server.play(Reply(events=[*events[:4], sse({"type": "error", "error": {"type": "overloaded_error",
                                                                        "message": "Overloaded"}}, event="error")]))

    with pytest.raises(ExternalServiceError) as caught:
        list(provider().stream(ask()))

    assert "Overloaded" in caught.value.message


def test_the_provider_declares_itself_as_a_plugin_should():
    assert AnthropicProvider.definition_problems() == []
    assert {s.key for s in AnthropicProvider.settings} == {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"}
    sonnet = {m.name: m for m in AnthropicProvider.models}["anthropic:claude-sonnet-4"]
    assert sonnet.context_window == 200_000 and sonnet.priced
