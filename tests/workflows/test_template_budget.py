"""app/workflows/template_budget.py: what one render of a template may spend, counted in the sandbox."""

from __future__ import annotations

import pytest

from app.workflows.template_budget import RenderBudget, TemplateBudgetExceeded, render_budget
from app.workflows.templates import TemplateEngine, TemplateProblem


@pytest.fixture
def engine() -> TemplateEngine:
    return TemplateEngine()


def refusal(engine: TemplateEngine, template: str, context: dict | None = None) -> TemplateProblem:
    with pytest.raises(TemplateProblem) as raised:
        engine.render(template, context or {})
    return raised.value


@pytest.mark.parametrize("template, words", [
    ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "loop iterations and calls"),
    ("{{ 'ab' * 10**8 }}", "more than 1,000,000 items"),
    ("{{ [0] * 10**7 }}", "more than 1,000,000 items"),
    ("{{ 'x'|center(10**9) }}", "a size over 1,000,000"),
    ("{{ 'x'.ljust(10**9) }}", "a size over 1,000,000"),
    ("{{ (2 ** 5000) * (2 ** 6000) }}", "wider than 10,000 bits"),
    ("{{ 3 ** 20000 }}", "wider than 10,000 bits"),
    ("{% for i in range(50000) %}{{ '0123456789' * 3 }}{% endfor %}", "wrote more than 1,000,000 characters"),
], ids=["nested loops", "string repeat", "list repeat", "filter width", "method width", "product", "power",
        "output"])
def test_a_render_past_a_limit_is_a_budget_problem(engine, template, words):
    problem = refusal(engine, template)
    assert problem.code == "TEMPLATE_BUDGET_EXCEEDED" and words in str(problem)


def test_the_problem_names_the_line_of_the_template(engine):
    template = "first line\n{% for i in range(100000) %}\n{% for j in range(10) %}{% endfor %}{% endfor %}"
    assert str(refusal(engine, template)).endswith("(line 3 of the template)")  # where the inner loop is


def test_a_step_shares_one_budget_across_its_values(engine):
    loop = "{% for i in range(60000) %}{% endfor %}"
    engine.render(loop, {})  # one alone fits
    problem = refusal(engine, {"a": loop, "b": [loop, loop, loop]})
    assert problem.code == "TEMPLATE_BUDGET_EXCEEDED"


def test_time_is_a_limit_too_measured_by_the_clock_given():
    ticks = iter(range(0, 10**6, 1))
    with render_budget(lambda: RenderBudget(seconds=10, clock=lambda: float(next(ticks)))) as budget:
        with pytest.raises(TemplateBudgetExceeded, match="longer than 10 s"):
            for _ in range(10_000):
                budget.spend()


def test_honest_templates_render_as_before(engine):
    context = {"inputs": {"names": ["Ada", "Bob"], "n": 3}, "steps": {"outline": {"output": {"chapters": [1, 2]}}}}
    assert engine.render("{% for n in inputs.names %}{{ n }};{% endfor %}", context) == "Ada;Bob;"
    assert engine.render("{{ inputs.names|join(', ')|upper }}", context) == "ADA, BOB"
    assert engine.render("{{ steps.outline.output.chapters }}", context) == [1, 2]
    assert engine.render("{{ '%s has %d' % (inputs.names[0], inputs.n) }}", context) == "Ada has 3"
    assert engine.render("{{ '{:,}'.format(12345678) }}", context) == "12,345,678"
    assert engine.render("{{ 2 ** 64 }}", context) == 18446744073709551616
