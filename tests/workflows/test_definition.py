"""Valid documents: what a loaded definition holds, and how it is stored on a run."""

from __future__ import annotations

import json

import pytest

from app.workflows import InputSpec, RetryPolicy, WorkflowDefinition

BOOK = """\
name: book.draft
version: 2.1.0
description: Outline, then chapters, then a blurb.
inputs:
  topic: {type: string, required: true, max_length: 80}
  chapters: {type: integer, min: 1, max: 12, default: 3}
  tone: {type: enum, choices: [calm, bold], default: calm}
defaults: {model: "test:small", temperature: 0.4, max_tokens: 800}
steps:
  - id: outline
    skill: test.echo
    with: {text: "Outline of {{ inputs.topic }} in {{ inputs.chapters }} chapters"}
  - id: draft
    skill: test.echo
    candidates: ["test:small", "test:large"]
    select: user
    retry: 3
    with:
      text: "{{ steps.outline.output.text | upper }}"
  - id: review
    skill: test.echo
    needs: [outline, draft]
    cache: global
    timeout: 30
    on_error: skip
    with:
      extra: {notes: ["{{ steps.draft.feedback }}", "{{ inputs.tone }}"]}
  - id: blurb
    skill: test.echo
    needs: [review]
    model: "test:large"
    temperature: 1.2
    retry: {max_attempts: 4, backoff: 0.5, max_interval: 2}
    with: {text: "{{ inputs.topic | default(steps.outline.output.text) }}"}
"""


@pytest.fixture
def book(load) -> WorkflowDefinition:
    return load(BOOK)


def test_the_document_header_is_read(book):
    assert (book.name, book.version, book.description) == ("book.draft", "2.1.0", "Outline, then chapters, "
                                                                                  "then a blurb.")
    assert book.defaults == {"model": "test:small", "temperature": 0.4, "max_tokens": 800}


def test_a_numeric_version_is_kept_as_text(load):
    assert load("name: a\nversion: 3\nsteps:\n  - {id: s, skill: test.noop}\n").version == "3"


def test_input_declarations_are_read(book):
    assert book.inputs == (
        InputSpec("topic", "string", required=True, max_length=80),
        InputSpec("chapters", "integer", default=3, has_default=True, minimum=1.0, maximum=12.0),
        InputSpec("tone", "enum", default="calm", has_default=True, choices=("calm", "bold")),
    )


def test_dependencies_are_inferred_from_templates(book):
    assert book.step("outline").depends_on == ()
    assert book.step("draft").depends_on == ("outline",)
    assert book.step("draft").needs == ()


def test_explicit_needs_are_merged_with_template_reads_without_repeats(book):
    # review needs outline and draft, and reads draft: draft is listed once.
    assert book.step("review").depends_on == ("outline", "draft")
    # blurb needs review and reads outline inside a filter's argument.
    assert book.step("blurb").depends_on == ("review", "outline")


def test_a_read_inside_a_subscript_is_a_dependency(load):
    definition = load("""\
        name: a
        version: 1
        inputs:
          which: {type: integer, default: 0}
        steps:
          - {id: source, skill: test.noop}
          - id: pick
            skill: test.echo
            with: {text: "{{ steps.source.output[inputs.which] }}"}
        """)
    assert definition.step("pick").depends_on == ("source",)


def test_candidates_as_a_list_of_models(book):
    draft = book.step("draft")
    assert draft.models == ("test:small", "test:large")
    assert draft.candidate_count == 2
    assert draft.select == "user"


def test_candidates_as_a_count(load):
    step = load("name: a\nversion: 1\nsteps:\n  - {id: s, skill: test.noop, candidates: 3}\n").steps[0]
    assert (step.candidates, step.models, step.candidate_count) == (3, (), 3)


def test_retry_shorthand_is_a_number_of_attempts(book):
    assert book.step("draft").retry == RetryPolicy(max_attempts=3, backoff=1.0, max_interval=60.0)


def test_retry_in_full(book):
    assert book.step("blurb").retry == RetryPolicy(max_attempts=4, backoff=0.5, max_interval=2.0)


def test_step_defaults(book):
    outline = book.step("outline")
    assert (outline.candidates, outline.select, outline.cache, outline.on_error, outline.timeout) == \
        (1, "first", "run_only", "fail", None)
    assert outline.retry == RetryPolicy()


def test_step_settings_and_their_lines(book):
    review, blurb = book.step("review"), book.step("blurb")
    assert (review.cache, review.timeout, review.on_error) == ("global", 30, "skip")
    assert (blurb.model, blurb.temperature) == ("test:large", 1.2)
    assert [step.line for step in book.steps] == [10, 13, 20, 28]


def test_dependents_and_descendants(book):
    assert book.dependents() == {"outline": ("draft", "review", "blurb"), "draft": ("review",),
                                 "review": ("blurb",), "blurb": ()}
    assert book.descendants("draft") == {"review", "blurb"}
    assert book.descendants("blurb") == set()


def test_an_unknown_step_id_is_a_key_error(book):
    with pytest.raises(KeyError):
        book.step("epilogue")


def test_the_definition_round_trips_through_a_dict(book):
    assert WorkflowDefinition.from_dict(book.to_dict()) == book


def test_the_definition_round_trips_through_json_as_a_run_stores_it(book):
    stored = json.loads(json.dumps(book.to_dict()))
    assert WorkflowDefinition.from_dict(stored) == book
