"""The planner: the engine's decisions on plain values, with no database, Redis or app."""

from __future__ import annotations

import textwrap
import uuid

import pytest

from app.engine.planner import (
    StepState,
    branch_redo,
    cache_key,
    canonical_json,
    fan_out_key,
    input_hash,
    merged_content,
    model_options,
    ready_steps,
    template_context,
    waiting_counts,
)
from app.workflows import RetryPolicy, WorkflowDefinition, load_workflow

OPTIONS = {"model": "test:small", "temperature": 0.2, "max_tokens": 100, "candidates": 1, "models": []}


def workflow(steps: str, defaults: str = "") -> WorkflowDefinition:
    """A workflow of these (dedented) steps; skills are not checked."""
    return load_workflow("name: plan\nversion: 1\n" + defaults + "steps:\n" + textwrap.indent(
        textwrap.dedent(steps), "  "))


@pytest.fixture
def diamond() -> WorkflowDefinition:
    #   top → left, right → bottom; tail hangs off bottom.
    return workflow("""\
        - {id: top, skill: test.noop}
        - {id: left, skill: test.echo, with: {text: "{{ steps.top.output }}"}}
        - {id: right, skill: test.noop, needs: [top]}
        - {id: bottom, skill: test.echo, needs: [right], with: {text: "{{ steps.left.output }}"}}
        - {id: tail, skill: test.noop, needs: [bottom]}
        """)


@pytest.fixture
def chain() -> WorkflowDefinition:
    return workflow("""\
        - {id: one, skill: test.noop}
        - {id: two, skill: test.noop, needs: [one]}
        - {id: three, skill: test.noop, needs: [two]}
        - {id: alone, skill: test.noop}
        """)


def test_input_hash_is_stable_under_key_order():
    first = input_hash({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", OPTIONS)
    second = input_hash({"extra": {"y": [1, 2], "x": 1}, "text": "a"}, "test.echo", "1",
                        dict(reversed(list(OPTIONS.items()))))
    assert first == second
    assert len(first) == 64 and int(first, 16) >= 0


@pytest.mark.parametrize(("inputs", "skill", "version", "options"), [
    ({"text": "b", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", OPTIONS),
    ({"text": "a", "extra": {"x": 1, "y": [2, 1]}}, "test.echo", "1", OPTIONS),
    ({"text": "a", "extra": {"x": 1.5, "y": [1, 2]}}, "test.echo", "1", OPTIONS),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.other", "1", OPTIONS),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "2", OPTIONS),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", None, OPTIONS),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", {**OPTIONS, "model": "test:large"}),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", {**OPTIONS, "temperature": 0.3}),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", {**OPTIONS, "candidates": 2}),
    ({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", {**OPTIONS, "models": ["p:a", "p:b"]}),
])
def test_input_hash_changes_with_inputs_skill_version_and_model_options(inputs, skill, version, options):
    base = input_hash({"text": "a", "extra": {"x": 1, "y": [1, 2]}}, "test.echo", "1", OPTIONS)
    assert input_hash(inputs, skill, version, options) != base


def test_canonical_json_sorts_keys_and_drops_spacing():
    assert canonical_json({"b": [1, {"d": 1, "c": "é"}], "a": None}) == '{"a":null,"b":[1,{"c":"é","d":1}]}'


def test_model_options_prefer_the_step_over_the_workflow_defaults():
    definition = workflow("""\
        - {id: own, skill: test.noop, model: "p:own", temperature: 0, max_tokens: 5, candidates: ["p:a", "p:b"]}
        - {id: inherits, skill: test.noop, candidates: 3}
        """, defaults="defaults: {model: \"p:default\", temperature: 0.7, max_tokens: 900}\n")
    assert model_options(definition.step("own"), definition.defaults) == {
        "model": "p:own", "temperature": 0.0, "max_tokens": 5, "candidates": 2, "models": ["p:a", "p:b"]}
    assert model_options(definition.step("inherits"), definition.defaults) == {
        "model": "p:default", "temperature": 0.7, "max_tokens": 900, "candidates": 3, "models": []}


def test_cache_key_differs_per_tenant_scope_and_root_run():
    tenant, other_tenant, root, other_root = (uuid.uuid4() for _ in range(4))
    digest = input_hash({"text": "a"}, "test.echo", "1", OPTIONS)
    key = cache_key(tenant, "book", "draft", digest, "run_only", root)
    assert key == cache_key(tenant, "book", "draft", digest, "run_only", root)
    assert len({
        key,
        cache_key(other_tenant, "book", "draft", digest, "run_only", root),
        cache_key(tenant, "book", "draft", digest, "run_only", other_root),
        cache_key(tenant, "book", "draft", digest, "global", root),
        cache_key(tenant, "other", "draft", digest, "run_only", root),
        cache_key(tenant, "book", "blurb", digest, "run_only", root),
        cache_key(tenant, "book", "draft", "0" * 64, "run_only", root),
    }) == 7


def test_a_global_cache_key_is_shared_by_every_run_of_the_tenant():
    tenant, digest = uuid.uuid4(), "a" * 64
    assert cache_key(tenant, "book", "draft", digest, "global", uuid.uuid4()) == \
        cache_key(tenant, "book", "draft", digest, "global", uuid.uuid4())
    assert cache_key(tenant, "book", "draft", digest, "global", uuid.uuid4()) != \
        cache_key(uuid.uuid4(), "book", "draft", digest, "global", uuid.uuid4())


def test_template_context_shape():
    finished = {"outline": StepState(output={"text": "Intro"}, selection=1, feedback="shorter",
                                     candidates=({"index": 0}, {"index": 1}))}
    assert template_context({"topic": "tides"}, finished) == {
        "inputs": {"topic": "tides"},
        "steps": {"outline": {"output": {"text": "Intro"}, "selection": 1, "feedback": "shorter",
                              "candidates": [{"index": 0}, {"index": 1}]}},
    }


def test_template_context_of_a_for_each_item():
    context = template_context({}, {}, item={"title": "One"}, index=0)
    assert context == {"inputs": {}, "steps": {}, "item": {"title": "One"}, "index": 0}


def test_a_finished_step_without_selection_reads_as_empty():
    assert template_context({}, {"a": StepState(output=[1])})["steps"]["a"] == {
        "output": [1], "selection": None, "feedback": None, "candidates": []}


def test_waiting_counts_on_a_diamond(diamond):
    assert waiting_counts(diamond) == {"top": 0, "left": 1, "right": 1, "bottom": 2, "tail": 1}
    assert waiting_counts(diamond, {"top", "left"}) == {"top": 0, "left": 0, "right": 0, "bottom": 1, "tail": 1}


def test_ready_steps_walk_a_diamond(diamond):
    assert ready_steps(diamond, done=()) == ["top"]
    assert ready_steps(diamond, done={"top"}) == ["left", "right"]
    assert ready_steps(diamond, done={"top"}, started={"left"}) == ["right"]
    assert ready_steps(diamond, done={"top", "left"}, started={"right"}) == []
    assert ready_steps(diamond, done={"top", "left", "right"}) == ["bottom"]
    assert ready_steps(diamond, done={"top", "left", "right", "bottom"}) == ["tail"]
    assert ready_steps(diamond, done={step.id for step in diamond.steps}) == []


def test_ready_steps_and_waiting_counts_on_a_chain(chain):
    assert waiting_counts(chain) == {"one": 0, "two": 1, "three": 1, "alone": 0}
    assert ready_steps(chain, done=()) == ["one", "alone"]
    assert ready_steps(chain, done={"one"}, started={"alone"}) == ["two"]
    assert ready_steps(chain, done={"one", "two", "alone"}) == ["three"]


def test_branch_redo_is_the_step_and_everything_after_it(diamond, chain):
    assert branch_redo(diamond, "top") == {"top", "left", "right", "bottom", "tail"}
    assert branch_redo(diamond, "left") == {"left", "bottom", "tail"}
    assert branch_redo(diamond, "right") == {"right", "bottom", "tail"}
    assert branch_redo(diamond, "tail") == {"tail"}
    assert branch_redo(chain, "two") == {"two", "three"}
    assert branch_redo(chain, "alone") == {"alone"}


def test_fan_out_key():
    assert fan_out_key("chapters", 2) == "chapters[2]"


@pytest.mark.parametrize(("output", "merged"), [
    ({"text": "Chosen", "content": "other"}, "Chosen"),
    ({"content": "From content", "markdown": "# no"}, "From content"),
    ({"markdown": "# Heading"}, "# Heading"),
    ({"text": 42, "content": "text is not a string"}, "text is not a string"),
    ({"data": {"b": 1, "a": 2}}, '{"data":{"a":2,"b":1}}'),
    ("plain words", "plain words"),
    ([1, "two"], '[1,"two"]'),
    (7, "7"),
    (None, "null"),
])
def test_merged_content(output, merged):
    assert merged_content(output) == merged


@pytest.mark.parametrize(("policy", "delays"), [
    (RetryPolicy(max_attempts=6, backoff=1, max_interval=60), [0, 0, 1, 2, 4, 8, 16]),
    (RetryPolicy(max_attempts=6, backoff=2, max_interval=5), [0, 0, 2, 4, 5, 5, 5]),
    (RetryPolicy(max_attempts=3, backoff=0, max_interval=0), [0, 0, 0, 0, 0, 0, 0]),
    (RetryPolicy(max_attempts=3, backoff=0.5, max_interval=60), [0, 0, 0.5, 1, 2, 4, 8]),
])
def test_retry_delay_is_exponential_and_capped(policy, delays):
    assert [policy.delay_before(attempt) for attempt in range(0, 7)] == delays
