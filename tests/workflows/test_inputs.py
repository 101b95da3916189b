"""The inputs of a run, checked against the workflow's declarations; ``-i key=value`` values."""

from __future__ import annotations

import pytest

from app.errors import ValidationError
from app.workflows import WorkflowDefinition, resolve_inputs
from app.workflows.inputs import parse_cli_value

DECLARATIONS = """\
name: inputs.demo
version: 1
inputs:
  title: {type: string, required: true, min_length: 2, max_length: 10}
  body: {type: text}
  count: {type: integer, min: 1, max: 5, default: 2}
  ratio: {type: number, min: 0, max: 1}
  flag: {type: boolean, default: false}
  tone: {type: enum, choices: [calm, loud], default: calm}
  level: {type: enum, choices: [1, 2]}
  tags: {type: list, min_length: 1, max_length: 2}
steps:
  - {id: a, skill: test.noop}
"""


@pytest.fixture
def definition(load) -> WorkflowDefinition:
    return load(DECLARATIONS)


def refused(definition, given) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        resolve_inputs(definition, given)
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.message == "Some inputs are not valid for this workflow."
    return caught.value.details["fields"]


def test_defaults_fill_what_was_not_given(definition):
    assert resolve_inputs(definition, {"title": "Tides"}) == {
        "title": "Tides", "body": None, "count": 2, "ratio": None, "flag": False, "tone": "calm",
        "level": None, "tags": None,
    }


def test_every_type_accepts_its_values(definition):
    given = {"title": "Tides", "body": "line one\nline two", "count": 5, "ratio": 1, "flag": True,
             "tone": "loud", "level": 2, "tags": ["a", "b"]}
    resolved = resolve_inputs(definition, given)
    assert resolved == given
    assert type(resolved["ratio"]) is float  # a number given as an int is stored as a float


def test_a_given_null_counts_as_not_given(definition):
    assert resolve_inputs(definition, {"title": "Tides", "count": None})["count"] == 2
    assert refused(definition, {"title": None}) == {"inputs.title": ["Missing data for required input."]}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("title", 7, "Must be of type string."),
    ("title", "two\nlines", "Must be one line (use type text for several)."),
    ("title", "x", "Must have at least 2 characters."),
    ("title", "x" * 11, "Must have at most 10 characters."),
    ("body", ["not", "text"], "Must be of type text."),
    ("count", True, "Must be of type integer."),
    ("count", 2.0, "Must be of type integer."),
    ("count", "3", "Must be of type integer."),
    ("count", 0, "Must be at least 1."),
    ("count", 6, "Must be at most 5."),
    ("ratio", "0.5", "Must be of type number."),
    ("ratio", False, "Must be of type number."),
    ("ratio", 1.5, "Must be at most 1."),
    ("ratio", -0.1, "Must be at least 0."),
    ("ratio", float("nan"), "Must be a finite number."),
    ("ratio", float("inf"), "Must be a finite number."),
    ("flag", 1, "Must be of type boolean."),
    ("flag", "true", "Must be of type boolean."),
    ("tone", "whisper", "Must be one of calm, loud."),
    ("tone", ["calm"], "Must be of type enum."),
    ("level", 3, "Must be one of 1, 2."),
    ("level", True, "Must be one of 1, 2."),
    ("tags", "a,b", "Must be of type list."),
    ("tags", [], "Must have at least 1 items."),
    ("tags", ["a", "b", "c"], "Must have at most 2 items."),
])
def test_a_wrong_value_is_refused(definition, name, value, message):
    assert refused(definition, {"title": "Tides", name: value}) == {f"inputs.{name}": [message]}


def test_unknown_inputs_are_refused(definition):
    assert refused(definition, {"title": "Tides", "colour": "red"}) == {
        "inputs.colour": ["Unknown input; this workflow takes title, body, count, ratio, flag, tone, level, tags."]}


def test_a_missing_required_input_is_refused(definition):
    assert refused(definition, {}) == {"inputs.title": ["Missing data for required input."]}
    assert refused(definition, None) == {"inputs.title": ["Missing data for required input."]}


def test_every_problem_is_reported_together(definition):
    fields = refused(definition, {"count": True, "ratio": 9, "tags": [], "extra": 1, "tone": "x"})
    assert fields == {
        "inputs.extra": ["Unknown input; this workflow takes title, body, count, ratio, flag, tone, level, tags."],
        "inputs.title": ["Missing data for required input."],
        "inputs.count": ["Must be of type integer."],
        "inputs.ratio": ["Must be at most 1."],
        "inputs.tone": ["Must be one of calm, loud."],
        "inputs.tags": ["Must have at least 1 items."],
    }


def test_a_workflow_without_inputs_takes_none(load):
    bare = load("name: bare\nversion: 1\nsteps:\n  - {id: a, skill: test.noop}\n")
    assert resolve_inputs(bare, {}) == {}
    assert refused(bare, {"x": 1}) == {"inputs.x": ["Unknown input; this workflow takes none."]}


def test_a_boolean_enum_choice_matches_only_a_boolean(load):
    switch = load("name: s\nversion: 1\ninputs:\n  power: {type: enum, choices: [true, 0]}\nsteps:\n"
                  "  - {id: a, skill: test.noop}\n")
    assert resolve_inputs(switch, {"power": True}) == {"power": True}
    assert resolve_inputs(switch, {"power": 0}) == {"power": 0}
    assert refused(switch, {"power": 1}) == {"inputs.power": ["Must be one of True, 0."]}
    assert refused(switch, {"power": False}) == {"inputs.power": ["Must be one of True, 0."]}


@pytest.mark.parametrize(("raw", "value"), [
    ("3", 3),
    ("-2", -2),
    ("3.5", 3.5),
    ("true", True),
    ("false", False),
    ("hello world", "hello world"),
    ("'42'", "42"),
    ("[tides, moons]", ["tides", "moons"]),
    ("{a: 1}", {"a": 1}),
    ("null", None),
    ("~", None),
    ("", ""),
    ("   ", "   "),
    ("{unclosed", "{unclosed"),
    ("2024-01-31", "2024-01-31"),
    ("[2024-01-31]", "[2024-01-31]"),
    (".nan", ".nan"),
    ("key: [", "key: ["),
])
def test_parse_cli_value_reads_values_like_yaml(raw, value):
    parsed = parse_cli_value(raw)
    assert parsed == value and type(parsed) is type(value)
