"""The offline provider: deterministic readable text, JSON that fits its schema, PNG jobs."""

from __future__ import annotations

import io
import json
import time
from importlib.metadata import entry_points

import jsonschema
import pytest
from PIL import Image

from app.clock import ManualClock
from app.providers.offline import OfflineProvider
from app.toolkit import CompletionRequest, MediaRequest, ProviderRequestError

PROMPT = ('Write the opening chapter of a story about Mara Vell, a lighthouse keeper on the island of '
          'Skerrow, and the storm the villagers call "the long dark". The lighthouse is failing.')


def ask(prompt: str = PROMPT, **fields) -> CompletionRequest:
    return CompletionRequest(**{"model": "writer", "messages": ({"role": "system", "content": "You are a novelist."},
                                                                {"role": "user", "content": prompt}), **fields})


def test_the_same_input_and_seed_give_the_same_text():
    first = OfflineProvider().complete(ask(seed=3, temperature=0.7))
    again = OfflineProvider().complete(ask(seed=3, temperature=0.7))

    assert first.text == again.text and first.output_tokens == again.output_tokens


def test_another_seed_gives_another_text():
    assert OfflineProvider().complete(ask(seed=1)).text != OfflineProvider().complete(ask(seed=2)).text


def test_the_configured_seed_is_used_when_the_call_names_none():
    default = OfflineProvider().complete(ask()).text

    assert OfflineProvider({"seed": 0}).complete(ask()).text == default
    assert OfflineProvider({"seed": 41}).complete(ask()).text != default
    assert OfflineProvider({"seed": 41}).complete(ask()).text == OfflineProvider().complete(ask(seed=41)).text


def test_the_text_is_prose_about_the_prompts_names_phrases_and_subjects():
    completion = OfflineProvider().complete(ask())
    text = completion.text

    assert "Mara Vell" in text or "Skerrow" in text
    assert "the long dark" in text or "lighthouse" in text
    paragraphs = text.split("\n\n")
    assert len(paragraphs) >= 2 and all(p[0].isupper() and p.rstrip()[-1] in ".?!" for p in paragraphs)
    assert completion.finish_reason == "stop" and completion.raw["offline"] is True


def test_topics_change_with_the_prompt():
    text = OfflineProvider().complete(ask("Write about remote work and the productivity of small teams.")).text

    assert "remote work" in text.lower() or "small teams" in text.lower()
    assert "Mara Vell" not in text


def test_usage_counts_about_1_3_tokens_a_word():
    completion = OfflineProvider().complete(ask())

    assert completion.output_tokens == round(len(completion.text.split()) * 1.3)
    prompt_words = len(PROMPT.split()) + len("You are a novelist.".split())
    assert completion.input_tokens == round(prompt_words * 1.3)


@pytest.mark.parametrize("max_tokens", [1, 12, 40, 120])
def test_max_tokens_is_honoured(max_tokens):
    completion = OfflineProvider().complete(ask(max_tokens=max_tokens))

    assert 0 < completion.output_tokens <= max_tokens
    assert len(completion.text.split()) <= max(1, int(max_tokens * 0.75))
    assert completion.finish_reason == "length"


def test_a_word_count_in_the_prompt_sets_the_length():
    text = OfflineProvider().complete(ask("Write a 60-word blurb for a novel about the sea.")).text

    assert 35 <= len(text.split()) <= 60


def test_a_list_is_answered_with_as_many_numbered_items_as_asked():
    text = OfflineProvider().complete(ask("Give 4 angles for an article on urban beekeeping.")).text

    lines = text.splitlines()
    assert [line.split(".")[0] for line in lines] == ["1", "2", "3", "4"]
    assert "beekeeping" in text.lower()


def test_a_stop_sequence_ends_the_text_where_it_appears():
    full = OfflineProvider().complete(ask(seed=5)).text
    stop = full.split()[6]

    cut = OfflineProvider().complete(ask(seed=5, stop=(stop,))).text

    assert stop not in cut and full.startswith(cut)


def test_streaming_yields_the_same_text_in_pieces_and_usage_last():
    whole = OfflineProvider().complete(ask(seed=9))
    chunks = list(OfflineProvider().stream(ask(seed=9)))

    assert len(chunks) > 3 and "".join(c.text for c in chunks) == whole.text
    assert chunks[-1].done and chunks[-1].output_tokens == whole.output_tokens


def test_a_call_is_fast():
    provider = OfflineProvider()
    started = time.perf_counter()
    for seed in range(50):
        provider.complete(ask(seed=seed))
    assert (time.perf_counter() - started) / 50 < 0.010


SCHEMAS = {
    "flat object": {"type": "object", "required": ["title", "summary", "word_count", "draft"],
                    "additionalProperties": False,
                    "properties": {"title": {"type": "string", "minLength": 3, "maxLength": 40},
                                   "summary": {"type": "string", "minLength": 80},
                                   "word_count": {"type": "integer", "minimum": 100, "maximum": 200},
                                   "draft": {"type": "boolean"}}},
    "nested with arrays": {
        "type": "object", "required": ["characters", "chapters"],
        "properties": {
            "characters": {"type": "array", "minItems": 2, "maxItems": 3, "items": {
                "type": "object", "required": ["name", "role"],
                "properties": {"name": {"type": "string"}, "role": {"enum": ["hero", "villain", "mentor"]},
                               "age": {"type": "integer", "exclusiveMinimum": 17, "maximum": 90}}}},
            "chapters": {"type": "array", "minItems": 5, "items": {"type": "object", "properties": {
                "number": {"type": "integer", "minimum": 1}, "beats": {"type": "array", "items": {"type": "string"}}}}},
        }},
    "array at the top": {"type": "array", "minItems": 3, "maxItems": 3, "uniqueItems": True,
                         "items": {"type": "string", "maxLength": 12}},
    "numbers and formats": {"type": "object", "required": ["score", "ratio", "when", "day", "id", "contact", "site"],
                            "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1},
                                           "ratio": {"type": "number", "exclusiveMaximum": 10, "multipleOf": 0.5},
                                           "when": {"type": "string", "format": "date-time"},
                                           "day": {"type": "string", "format": "date"},
                                           "id": {"type": "string", "format": "uuid"},
                                           "contact": {"type": "string", "format": "email"},
                                           "site": {"type": "string", "format": "uri"},
                                           "even": {"type": "integer", "multipleOf": 2, "minimum": 3, "maximum": 9}}},
    "refs, unions and nulls": {
        "$defs": {"issue": {"type": "object", "required": ["severity", "message"], "properties": {
            "severity": {"type": "string", "enum": ["error", "warning", "info"]},
            "message": {"type": "string"}, "location": {"type": ["string", "null"]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1}}}},
        "type": "object", "required": ["issues", "summary"],
        "properties": {"issues": {"type": "array", "items": {"$ref": "#/$defs/issue"}},
                       "summary": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                       "status": {"oneOf": [{"const": "ok"}, {"type": "integer"}]},
                       "meta": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}},
                                           "required": ["a"]},
                                          {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]}}},
    "a map and tags": {"type": "object", "properties": {
        "scores": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 5}},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["sea", "storm", "light"]},
                 "uniqueItems": True, "minItems": 3}}, "required": ["scores", "tags"]},
}


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_json_fits_the_schema_asked_for(schema, seed):
    completion = OfflineProvider().complete(ask(json_schema=schema, seed=seed))

    value = json.loads(completion.text)
    jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert completion.output_tokens > 0


def test_json_text_speaks_of_the_prompts_topics():
    schema = SCHEMAS["flat object"]

    value = json.loads(OfflineProvider().complete(ask(json_schema=schema)).text)

    assert any(topic in value["summary"] for topic in ("Mara Vell", "Skerrow", "lighthouse", "the long dark"))


def test_an_image_is_processing_until_the_delay_passes_then_a_png_of_the_asked_size():
    clock = ManualClock()
    provider = OfflineProvider({"media_delay": 0.3}, clock=clock)
    submission = provider.submit(MediaRequest(model="image", media_type="image",
                                              params={"prompt": "A lighthouse in a storm", "width": 320,
                                                      "height": 200}))

    assert len(submission.job_id) <= 255 and submission.poll_interval > 0
    assert OfflineProvider({"media_delay": 0.3}, clock=clock).poll(submission.job_id).status == "processing"
    clock.advance(seconds=0.35)
    done = OfflineProvider(clock=clock).poll(submission.job_id)  # a new instance: the job id carries everything

    assert done.status == "completed" and done.content_type == "image/png"
    image = Image.open(io.BytesIO(done.content))
    assert image.format == "PNG" and image.size == (320, 200)
    assert len(image.convert("RGB").getcolors(maxcolors=320 * 200)) > 100  # a picture, not a blank square


def test_the_same_image_params_draw_the_same_png_and_other_params_another():
    provider = OfflineProvider({"media_delay": 0})

    def draw(params):
        poll = provider.poll(provider.submit(MediaRequest("image", "image", params)).job_id)
        assert poll.status == "completed"
        return poll.content

    assert draw({"prompt": "gulls", "seed": 4}) == draw({"prompt": "gulls", "seed": 4})
    assert draw({"prompt": "gulls", "seed": 4}) != draw({"prompt": "gulls", "seed": 5})


def test_image_sides_default_to_512_and_are_capped_at_2048():
    provider = OfflineProvider({"media_delay": 0})

    def size(params):
        content = provider.poll(provider.submit(MediaRequest("image", "image", params)).job_id).content
        return Image.open(io.BytesIO(content)).size

    assert size({}) == (512, 512)
    assert size({"size": "4000x64"}) == (2048, 64)


def test_a_long_prompt_still_fits_the_job_id():
    submission = OfflineProvider().submit(MediaRequest("image", "image", {"prompt": "storm " * 2000}))

    assert len(submission.job_id) <= 255


def test_a_generation_asked_to_fail_fails_with_a_reason():
    provider = OfflineProvider({"media_delay": 0})

    poll = provider.poll(provider.submit(MediaRequest("image", "image", {"fail": True})).job_id)

    assert poll.status == "failed" and "fail" in poll.error and poll.content is None


@pytest.mark.parametrize("job_id", ["offline-garbage!!", "someone-else-123", "offline-"])
def test_an_unknown_job_id_is_refused(job_id):
    with pytest.raises(ProviderRequestError):
        OfflineProvider().poll(job_id)


def test_media_other_than_images_and_text_from_the_image_model_are_refused():
    with pytest.raises(ProviderRequestError):
        OfflineProvider().submit(MediaRequest("image", "video", {}))
    with pytest.raises(ProviderRequestError):
        OfflineProvider().complete(CompletionRequest(model="image", messages=({"role": "user", "content": "hi"},)))
    with pytest.raises(ProviderRequestError):
        OfflineProvider().submit(MediaRequest("image", "image", {"width": "wide"}))


def test_the_provider_is_registered_and_declares_itself_as_a_plugin_should():
    registered = {ep.name: ep for ep in entry_points(group="inkwright.providers")}

    assert registered["offline"].load() is OfflineProvider
    assert {"openai", "anthropic"} <= set(registered)
    assert OfflineProvider.definition_problems() == []
    assert not OfflineProvider.requires_key and OfflineProvider.offline
    models = {m.name: m for m in OfflineProvider.models}
    assert models["offline:writer"].context_window == 32_768 and models["offline:writer"].priced
    assert models["offline:image"].kind == "image" and models["offline:image"].priced
