"""Step templates: native values, text, strictness, the sandbox, and what a template reads."""

from __future__ import annotations

import copy

import pytest

from app.workflows import TemplateEngine, TemplateProblem
from app.workflows.templates import Reference, references, single_expression


@pytest.fixture
def engine() -> TemplateEngine:
    return TemplateEngine()


@pytest.fixture
def context() -> dict:
    return {
        "inputs": {"topics": ["tides", "moons"], "count": 3, "ratio": 0.5, "flag": False, "title": "Sea"},
        "steps": {"outline": {"output": {"text": "Intro", "chapters": [{"title": "One"}, {"title": "Two"}]},
                              "selection": 1, "feedback": "shorter", "candidates": []}},
    }


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ inputs.topics }}", ["tides", "moons"]),
    ("  {{ inputs.count }}\n", 3),
    ("{{ inputs.ratio }}", 0.5),
    ("{{ inputs.flag }}", False),
    ("{{ steps.outline.output.chapters[1] }}", {"title": "Two"}),
    ("{{ steps.outline.output.chapters | map(attribute='title') | list }}", ["One", "Two"]),
    ("{{ inputs.count * 2 }}", 6),
    ("{{ none }}", None),
])
def test_a_single_expression_renders_to_the_value_itself(engine, context, template, expected):
    result = engine.render(template, context)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ inputs.count }} chapters", "3 chapters"),
    ("{{ inputs.title }}: {{ inputs.count }}", "Sea: 3"),
    ("{{ inputs.topics }}{{ inputs.count }}", "['tides', 'moons']3"),
    ("{% for t in inputs.topics %}{{ t }};{% endfor %}", "tides;moons;"),
    ("{{ steps.outline.feedback }}!", "shorter!"),
    ("no template at all", "no template at all"),
])
def test_a_mixed_string_renders_to_text(engine, context, template, expected):
    assert engine.render(template, context) == expected


def test_values_that_are_not_strings_are_left_alone(engine, context):
    assert engine.render(7, context) == 7
    assert engine.render(None, context) is None
    assert engine.render(True, context) is True


def test_nested_dicts_and_lists_render_recursively(engine, context):
    value = {"text": "about {{ inputs.title }}", "extra": {"topics": "{{ inputs.topics }}",
                                                           "pairs": [["{{ inputs.count }}", 4], "plain"]}}
    assert engine.render(value, context) == {"text": "about Sea", "extra": {"topics": ["tides", "moons"],
                                                                          "pairs": [[3, 4], "plain"]}}


@pytest.mark.parametrize(("template", "message"), [
    ("{{ inputs.missing }}", "'dict object' has no attribute 'missing'"),
    ("Title: {{ inputs.missing }}", "'dict object' has no attribute 'missing'"),
    ("{{ steps.outline.output.summary }}", "'dict object' has no attribute 'summary'"),
    ("{{ steps.later.output }}", "'dict object' has no attribute 'later'"),
    ("{{ [inputs.missing, 1] }}", "'dict object' has no attribute 'missing'"),
    ("{{ {'k': [inputs.missing]} }}", "'dict object' has no attribute 'missing'"),
    ("{{ inputs.missing | upper }}", "'dict object' has no attribute 'missing'"),
])
def test_a_missing_value_is_a_problem_not_blank_text(engine, context, template, message):
    with pytest.raises(TemplateProblem) as caught:
        engine.render(template, context)
    assert str(caught.value) == message


def test_an_expression_that_fails_is_a_problem(engine, context):
    with pytest.raises(TemplateProblem) as caught:
        engine.render("{{ inputs.count / 0 }}", context)
    assert str(caught.value) == "division by zero"  # the problem in words, not a class name
    with pytest.raises(TemplateProblem, match="Range too big"):
        engine.render("{{ range(10**9)|length }}", context)
    with pytest.raises(TemplateProblem, match="tuple object has no element 9"):
        engine.render("{{ inputs.topics[9] }} and more", {**context, "inputs": {"topics": ()}})


@pytest.mark.parametrize(("template", "message"), [
    ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe."),
    ("{{ ''.__class__ }}", "access to attribute '__class__' of 'str' object is unsafe."),
    ("x {{ inputs.title.__class__.__mro__[1].__subclasses__() }}",
     "access to attribute '__class__' of 'str' object is unsafe."),
    ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object is unsafe."),
    ("{{ inputs.topics.__len__() }}", "access to attribute '__len__' of 'list' object is unsafe."),
])
def test_the_sandbox_refuses_unsafe_attributes(engine, context, template, message):
    with pytest.raises(TemplateProblem) as caught:
        engine.render(template, context)
    assert str(caught.value) == message


@pytest.mark.parametrize("template", [
    "{{ inputs.topics.append('x') }}",
    "{{ inputs.topics.pop() }}",
    "{{ steps.outline.output.update({'text': 'changed'}) }}",
    "{% set _ = steps.outline.output.chapters.clear() %}done",
])
def test_templates_cannot_change_the_values_they_read(engine, context, template):
    before = copy.deepcopy(context)
    with pytest.raises(TemplateProblem, match="is unsafe"):
        engine.render(template, context)
    assert context == before


def test_the_same_template_renders_with_each_context(engine):
    assert engine.render("{{ inputs.n }}", {"inputs": {"n": 1}}) == 1
    assert engine.render("{{ inputs.n }}", {"inputs": {"n": [2]}}) == [2]


def test_parse_reports_a_syntax_error_as_a_problem(engine):
    with pytest.raises(TemplateProblem, match="unexpected end of template"):
        engine.parse("{{ inputs.x ")
    with pytest.raises(TemplateProblem, match="Encountered unknown tag 'fi'"):
        engine.parse("{% if inputs.x %}yes{% fi %}")


def test_render_reports_a_syntax_error_as_a_problem(engine, context):
    with pytest.raises(TemplateProblem):
        engine.render("{{ inputs.count + }}", context)


@pytest.mark.parametrize(("source", "expression"), [
    ("{{ inputs.topics }}", "inputs.topics"),
    ("  {{steps.a.output}}  ", "steps.a.output"),
    ("{{ a }} {{ b }}", None),
    ("x {{ a }}", None),
    ("{% if a %}{{ b }}{% endif %}", None),
    ("plain", None),
])
def test_single_expression(source, expression):
    assert single_expression(source) == expression


@pytest.mark.parametrize(("template", "free", "found"), [
    ("{{ inputs.topic }} and {{ steps.outline.output.text }}", {"inputs", "steps"},
     [Reference("inputs", "topic"), Reference("steps", "outline", "output")]),
    ("{{ inputs.items | join(steps.sep.output) }}", {"inputs", "steps"},
     [Reference("inputs", "items"), Reference("steps", "sep", "output")]),
    ("{{ steps.table.output[inputs.row] }}", {"inputs", "steps"},
     [Reference("steps", "table", "output"), Reference("inputs", "row")]),
    ("{{ steps['quoted'].selection }}", {"steps"}, [Reference("steps", "quoted", "selection")]),
    ("{{ inputs['title'] | default(steps.fallback.output) }}", {"inputs", "steps"},
     [Reference("inputs", "title"), Reference("steps", "fallback", "output")]),
    ("{% if inputs.flag %}{{ steps.yes.feedback }}{% endif %}", {"inputs", "steps"},
     [Reference("inputs", "flag"), Reference("steps", "yes", "feedback")]),
    ("{{ steps }}", {"steps"}, [Reference("steps", None)]),
    ("{{ item.title }} #{{ index }}", {"item", "index"}, []),
    ("{% set local = 1 %}{{ local }}", set(), []),
    ("{% for t in inputs.topics %}{{ t }}{% endfor %}", {"inputs"}, [Reference("inputs", "topics")]),
])
def test_references_finds_what_a_template_reads(engine, template, free, found):
    assert references(engine.parse(template)) == (free, found)
