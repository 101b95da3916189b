"""Foresight (app/workflows/template_foresight.py): the budget's limits seen in a template's
constants before it runs, and nothing said about what only a run can know."""

from __future__ import annotations

import time

import pytest

from app.workflows.template_foresight import foreseen_overruns
from app.workflows.templates import TemplateEngine


@pytest.fixture(scope="module")
def engine():
    return TemplateEngine()


@pytest.mark.parametrize("template, words", [
    ("{{ range(10**9)|length }}", "range() of 1,000,000,000 numbers"),
    ("{{ range(-10**9, 10**9, 1) }}", "range() of 2,000,000,000 numbers"),
    ("{% for i in range(6000) %}{% for j in range(6000) %}{% endfor %}{% endfor %}", "36,000,000 iterations"),
    ("{% for i in [1, 2, 3] %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "300,000 iterations"),
    ("{% for a in range(1000) %}{% for b in inputs.list %}{% for c in range(1000) %}{% endfor %}{% endfor %}"
     "{% endfor %}", "1,000,000 iterations"),
    ("{{ 'a' * 10**9 }}", "more than 1,000,000 items"),
    ("{{ 2 ** 100000 }}", "wider than 10,000 bits"),
    ("line one\n{{ [0] * (10**7) }}", "line 2 of the template"),
])
def test_constants_past_a_limit_are_foreseen(engine, template, words):
    found = list(foreseen_overruns(engine.parse(template)))
    assert len(found) == 1 and words in found[0], found


@pytest.mark.parametrize("template", [
    "{% for chapter in range(100) %}{% for beat in range(10) %}{{ chapter }}.{{ beat }} {% endfor %}{% endfor %}",
    "{{ range(inputs.n)|length }}",  # only a run knows n: its budget sees to it
    "{{ 'a' * inputs.n }}",
    "{{ '%05d' % 42 }}",
    "{{ range(5, 0, 0) }}",  # the sandbox's own error, when it runs
    "{{ (steps.outline.output.chapters | length) * 2 }}",
    "{{ 10 ** 3 + 7 // 2 - 1 }}",
])
def test_honest_and_input_dependent_templates_are_left_to_the_run(engine, template):
    assert list(foreseen_overruns(engine.parse(template))) == []


def test_foresight_computes_nothing_large_whatever_the_numbers_written(engine):
    tree = engine.parse("{{ 9 ** 99999 ** 99999 }}{{ range(10 ** 3000) }}")
    started = time.perf_counter()
    found = list(foreseen_overruns(tree))
    assert found and time.perf_counter() - started < 0.1
