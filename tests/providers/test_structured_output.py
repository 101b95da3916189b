"""Structured output on every OpenAI-compatible server (app/providers/structured_output.py):
a server refusing one way of asking for JSON is asked the next way, what worked is
remembered per server and model, and a refusal that is the request's validation is not
retried (issue 12: 12 identical calls against llama-cpp-python's server)."""

from __future__ import annotations

import json

import pytest

from app.providers.openai import OpenAIProvider
from app.providers.structured_output import MEMORY
from app.toolkit import CompletionRequest, ProviderAuthError, ProviderRequestError

from .conftest import Reply
from .test_openai import KEY, SCHEMA, chunk, completion_body

#: What llama-cpp-python's server answers to response_format json_schema (FastAPI, pydantic).
LLAMA_CPP_REFUSAL = Reply(status=500, body={"error": {
    "message": "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be "
               "'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]",
    "type": "internal_server_error"}})


@pytest.fixture
def provider(server, sleeps):
    MEMORY.forget()

    def build(**config) -> OpenAIProvider:
        built = OpenAIProvider({"api_key": KEY, "base_url": server.url + "/v1", "timeout": 5.0, "max_retries": 3,
                                **config})
        built.transport.sleep = sleeps.append
        return built
    yield build
    MEMORY.forget()


def ask(model: str = "smollm2") -> CompletionRequest:
    return CompletionRequest(model=model, messages=({"role": "user", "content": "Outline a tale."},),
                             json_schema=SCHEMA)


def formats(server) -> list[str]:
    """How each request asked for JSON."""
    found = []
    for received in server.received:
        body = received.body
        found.append(body["response_format"]["type"] if "response_format" in body
                     else "format" if "format" in body else "prompt")
    return found


def test_a_server_refusing_json_schema_is_asked_with_json_object_once_and_then_straight_away(
        server, provider, sleeps):
    server.play(LLAMA_CPP_REFUSAL, Reply(body=completion_body('{"title": "Tides"}')))
    openai = provider()

    assert json.loads(openai.complete(ask()).text) == {"title": "Tides"}
    assert formats(server) == ["json_schema", "json_object"] and sleeps == []  # two calls, no retries
    assert server.received[1].body["response_format"] == {"type": "json_object", "schema": SCHEMA}

    server.play(Reply(body=completion_body('{"title": "Again"}')))
    openai.complete(ask())
    assert formats(server)[2:] == ["json_object"]  # remembered for this server and model
    provider().complete(ask(model="another"))
    assert formats(server)[3:] == ["json_schema"]  # another model finds its own way


def test_a_server_refusing_every_response_format_gets_the_schema_in_the_prompt(server, provider):
    refusal = Reply(status=400, body={"error": {"message": "response_format is not supported by this server"}})
    server.play(refusal, refusal, Reply(status=400, body={"error": {"message": "unrecognized field: format"}}),
                Reply(body=completion_body('{"title": "Plain"}')))

    assert json.loads(provider().complete(ask()).text) == {"title": "Plain"}

    assert formats(server) == ["json_schema", "json_object", "format", "prompt"]
    system = server.received[3].body["messages"][0]
    assert system["role"] == "system" and json.dumps(SCHEMA, separators=(",", ":")) in system["content"]


def test_a_configured_form_is_the_only_one_tried(server, provider):
    server.play(LLAMA_CPP_REFUSAL)
    with pytest.raises(ProviderRequestError) as refused:
        provider(structured_output="json_schema").complete(ask())
    assert len(server.received) == 1 and "Input should be" in refused.value.message


@pytest.mark.parametrize("reply, error", [
    (Reply(status=401, body={"error": {"message": "bad key"}}), ProviderAuthError),
    (Reply(status=400, body={"error": {"message": "the prompt is too long for the context window"}}),
     ProviderRequestError),
], ids=["key refused", "prompt refused"])
def test_a_refusal_that_is_not_about_the_form_is_not_tried_another_way(server, provider, reply, error):
    server.play(reply)
    with pytest.raises(error):
        provider().complete(ask())
    assert len(server.received) == 1


def test_a_validation_500_is_not_retried_but_a_passing_500_is(server, provider, sleeps):
    server.play(Reply(status=500, body={"error": {"message": "Field required: messages"}}))
    with pytest.raises(ProviderRequestError):
        provider().complete(CompletionRequest(model="m", messages=({"role": "user", "content": "hi"},)))
    assert len(server.received) == 1 and sleeps == []

    server.play(Reply(status=500, body={"error": {"message": "CUDA out of memory"}}), Reply(body=completion_body()))
    provider().complete(CompletionRequest(model="m", messages=({"role": "user", "content": "hi"},)))
    assert len(server.received) == 3 and len(sleeps) == 1


def test_a_streamed_structured_call_falls_back_the_same_way(server, provider):
    server.play(LLAMA_CPP_REFUSAL, Reply(events=[chunk('{"title": '), chunk('"Streamed"}'), chunk(finish="stop"),
                                                 "data: [DONE]\n\n"]))

    text = "".join(piece.text for piece in provider().stream(ask()))

    assert json.loads(text) == {"title": "Streamed"} and formats(server) == ["json_schema", "json_object"]


def test_a_base_url_that_is_no_url_is_refused_when_the_app_starts(make_app):
    from app.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        make_app(OPENAI_BASE_URL="not a url", OPENAI_STRUCTURED_OUTPUT="xml")
    problems = "\n".join(refused.value.problems)
    assert "OPENAI_BASE_URL" in problems and "OPENAI_STRUCTURED_OUTPUT" in problems
