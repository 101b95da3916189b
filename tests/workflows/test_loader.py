"""Loading a workflow document: every problem, with its line and place, all at once."""

from __future__ import annotations

import textwrap

import pytest

from app.workflows import WorkflowInvalid, load_workflow, parse_workflow

HEAD = "name: demo\nversion: 1\nsteps:\n"  # the first step starts on line 4


def paths(problems):
    return [(line, path) for line, path, _ in problems]


def test_invalid_yaml_is_reported_with_the_line_of_the_mistake(problems_of):
    found = problems_of("""\
        name: demo
        version: 1
        steps:
          - id: a
            skill: test.echo
            with: {text: [1, 2}
        """)
    assert len(found) == 1
    line, path, message = found[0]
    assert (line, path) == (6, "")
    assert message.startswith("invalid YAML: expected ',' or ']'")


@pytest.mark.parametrize("source", ["- a\n- b\n", "just words\n", "42\n"])
def test_a_document_that_is_not_a_mapping_is_refused(problems_of, source):
    assert problems_of(source) == [(1, "", "a workflow is a YAML mapping with name, version and steps")]


def test_an_empty_document_is_refused(problems_of):
    assert [message for _, _, message in problems_of("")] == [
        "a workflow is a YAML mapping with name, version and steps"]


def test_a_missing_name_and_version_point_at_the_document(problems_of):
    found = problems_of("steps:\n  - {id: a, skill: test.noop}\n")
    assert paths(found) == [(1, "name"), (1, "version")]


@pytest.mark.parametrize("name", ["Bad Name", "-leading", "UPPER", "[x]", "''", "x" * 101])
def test_an_invalid_name_is_refused_on_its_line(problems_of, name):
    found = problems_of(f"version: 1\nname: {name}\nsteps:\n  - {{id: a, skill: test.noop}}\n")
    assert paths(found) == [(2, "name")]


@pytest.mark.parametrize("version", ["''", "[1]", "{a: 1}", "true", "'   '", "x" * 51])
def test_an_invalid_version_is_refused_on_its_line(problems_of, version):
    found = problems_of(f"name: demo\nsteps:\n  - {{id: a, skill: test.noop}}\nversion: {version}\n")
    assert paths(found) == [(4, "version")]


def test_unknown_keys_are_named_at_every_level(problems_of):
    found = problems_of("""\
        name: demo
        version: 1
        colour: blue
        inputs:
          topic: {type: string, hint: x}
        defaults: {model: "test:m", seed: 3}
        steps:
          - id: a
            skill: test.echo
            surprise: true
            retry: {max_attempts: 2, jitter: 1}
        """)
    assert paths(found) == [(3, "colour"), (5, "inputs.topic.hint"), (6, "defaults.seed"),
                            (10, "steps[0].surprise"), (11, "steps[0].retry.jitter")]
    assert found[0][2] == "unknown key 'colour'; expected one of defaults, description, inputs, name, steps, version"


def test_an_unknown_skill_is_refused_naming_the_installed_ones(problems_of):
    found = problems_of(HEAD + "  - id: a\n    skill: nope.skill\n    with: {anything: 1}\n")
    assert found == [(5, "steps[0].skill", "unknown skill 'nope.skill'; installed: json.shape, template.render, "
                                           "test.echo, test.noop")]


def test_without_a_skill_list_the_skill_check_is_skipped():
    definition, problems = parse_workflow(HEAD + "  - {id: a, skill: not.installed.here}\n", skills=None)
    assert problems == [] and definition.steps[0].skill == "not.installed.here"


def test_with_keys_the_skill_does_not_take_and_missing_required_ones(problems_of):
    found = problems_of(HEAD + textwrap.dedent("""\
          - id: a
            skill: test.echo
            with:
              text: hello
              colour: red
          - id: b
            skill: template.render
            with: {values: {}}
        """))
    assert found == [
        (8, "steps[0].with.colour", "skill test.echo takes no input 'colour'; it takes artifact, extra, "
                                    "fail_until_attempt, fail_until_execution, invalid_output_until_attempt, sleep, text"),
        (11, "steps[1].with", "skill template.render needs the input 'template'"),
    ]


def test_a_template_syntax_error_is_reported_where_the_template_is(problems_of):
    found = problems_of(HEAD + "  - id: a\n    skill: test.echo\n    with:\n      text: \"{{ inputs.x \"\n")
    assert paths(found) == [(7, "steps[0].with.text")]
    assert found[0][2].startswith("template syntax error: unexpected end of template")


@pytest.mark.parametrize(("template", "message"), [
    ("{{ topic }}", "undefined variable 'topic'; templates read inputs.* and steps.<id>.*"),
    ("{{ inputs.title }}", "undefined variable inputs.title; declared inputs: topic"),
    ("{{ steps.outline.output }}", "undefined variable steps.outline: no step has that id"),
    ("{{ item }}", "undefined variable 'item' (item and index exist only in for_each steps); "
                   "templates read inputs.* and steps.<id>.*"),
    ("chapter {{ index }}", "undefined variable 'index' (item and index exist only in for_each steps); "
                            "templates read inputs.* and steps.<id>.*"),
    ("{{ steps.first.result }}", "steps.first.result does not exist; a step offers output, selection, "
                                 "feedback, candidates"),
    ("{{ steps | length }}", "read another step as steps.<id>.output so the dependency is known"),
])
def test_undefined_variables_are_reported(problems_of, template, message):
    found = problems_of(f"""\
        name: demo
        version: 1
        inputs:
          topic: {{type: string}}
        steps:
          - {{id: first, skill: test.noop}}
          - id: second
            skill: test.echo
            with:
              text: "{template}"
        """)
    assert found == [(10, "steps[1].with.text", message)]


def test_undefined_variables_are_found_in_nested_with_values(problems_of):
    found = problems_of(HEAD + textwrap.dedent("""\
          - id: a
            skill: test.echo
            with:
              extra:
                notes: ["fine", "{{ inputs.gone }}"]
        """))
    assert paths(found) == [(8, "steps[0].with.extra.notes[1]")]


def test_a_step_cannot_read_its_own_output(problems_of):
    found = problems_of(HEAD + "  - id: a\n    skill: test.echo\n    with: {text: \"{{ steps.a.output }}\"}\n")
    assert found == [(6, "steps[0].with.text", "step 'a' cannot read its own output")]


def test_needs_must_name_other_existing_steps(problems_of):
    found = problems_of(HEAD + "  - {id: a, skill: test.noop, needs: a}\n  - {id: b, skill: test.noop, "
                               "needs: [a, ghost]}\n  - {id: c, skill: test.noop, needs: 3}\n")
    assert found == [(4, "steps[0].needs", "a step cannot need itself"),
                     (5, "steps[1].needs", "no step has the id 'ghost'"),
                     (6, "steps[2].needs", "must be a list of step ids")]


@pytest.mark.parametrize(("steps", "expected"), [
    ("  - id: a\n    skill: test.echo\n    with: {text: \"{{ steps.b.output }}\"}\n"
     "  - id: b\n    skill: test.echo\n    with: {text: \"{{ steps.a.output }}\"}\n",
     [(4, "steps[0]", "dependency cycle: a → b → a")]),
    ("  - {id: a, skill: test.noop, needs: [c]}\n  - {id: b, skill: test.noop, needs: [a]}\n"
     "  - {id: c, skill: test.noop, needs: [b]}\n",
     [(4, "steps[0]", "dependency cycle: a → c → b → a")]),
    ("  - {id: a, skill: test.noop}\n  - {id: b, skill: test.noop, needs: [a, c]}\n"
     "  - id: c\n    skill: test.echo\n    with: {text: \"{{ steps.b.output.text }}\"}\n",
     [(5, "steps[1]", "dependency cycle: b → c → b")]),
], ids=["two-steps-by-templates", "three-steps-by-needs", "needs-and-template-after-a-free-step"])
def test_dependency_cycles_are_reported(problems_of, steps, expected):
    assert problems_of(HEAD + steps) == expected


def test_two_separate_cycles_are_both_reported(problems_of):
    found = problems_of(HEAD + "  - {id: a, skill: test.noop, needs: [b]}\n  - {id: b, skill: test.noop, needs: [a]}\n"
                               "  - {id: c, skill: test.noop, needs: [d]}\n  - {id: d, skill: test.noop, needs: [c]}\n")
    assert found == [(4, "steps[0]", "dependency cycle: a → b → a"), (6, "steps[2]", "dependency cycle: c → d → c")]


def test_bad_for_each_targets_are_reported(problems_of):
    found = problems_of("""\
        name: demo
        version: 1
        inputs:
          topic: {type: string}
          topics: {type: list}
        steps:
          - id: a
            skill: test.echo
            for_each: "{{ inputs.topic }}"
          - id: b
            skill: test.echo
            for_each: "{{ inputs.topics }} and {{ inputs.topics }}"
          - id: c
            skill: test.echo
            for_each: "{{ item }}"
          - id: d
            skill: test.echo
            for_each: [1, 2]
          - id: e
            skill: test.echo
            for_each: "{{ inputs.topics }}"
            select: user
        """)
    assert found == [
        (9, "steps[0].for_each", "for_each needs a list, but inputs.topic is of type string"),
        (12, "steps[1].for_each", "for_each must be a single expression, e.g. '{{ steps.outline.output.chapters }}'"),
        (15, "steps[2].for_each", "for_each cannot read item or index: they come from it"),
        (15, "steps[2].for_each", "for_each must read a list from inputs.* or steps.<id>.*"),
        (18, "steps[3].for_each", "must be a template naming a list, e.g. '{{ inputs.topics }}'"),
        (22, "steps[4].select", "a for_each step cannot wait for a person to select; use select: first"),
    ]


def test_a_for_each_step_reads_item_and_index(load):
    definition = load("""\
        name: demo
        version: 1
        inputs:
          topics: {type: list}
        steps:
          - id: each
            skill: test.echo
            for_each: "{{ inputs.topics }}"
            with: {text: "{{ index }}: {{ item }}"}
        """)
    assert definition.step("each").for_each == "{{ inputs.topics }}"


@pytest.mark.parametrize(("setting", "path", "message"), [
    ("candidates: 0", "steps[0].candidates", "must be a whole number from 1 to 10"),
    ("candidates: 11", "steps[0].candidates", "must be a whole number from 1 to 10"),
    ("candidates: []", "steps[0].candidates", "a list of candidates names 1 to 10 models"),
    ("candidates: [\"p:m\", 3]", "steps[0].candidates", "a list of candidates names 1 to 10 models"),
    ("retry: 0", "steps[0].retry.max_attempts", "must be a whole number from 1 to 20"),
    ("retry: often", "steps[0].retry", "must be a mapping (max_attempts, backoff, max_interval) or a number of "
                                       "attempts"),
    ("retry: true", "steps[0].retry", "must be a mapping (max_attempts, backoff, max_interval) or a number of "
                                      "attempts"),
    ("retry: {backoff: -1}", "steps[0].retry.backoff", "must be a number from 0 to 3600"),
    ("retry: {backoff: 10, max_interval: 5}", "steps[0].retry.max_interval", "must be at least the backoff"),
    ("timeout: 0", "steps[0].timeout", "must be a whole number from 1 to 86400"),
    ("timeout: 10s", "steps[0].timeout", "must be a whole number from 1 to 86400"),
    ("on_error: explode", "steps[0].on_error", "must be one of fail, skip"),
    ("cache: sometimes", "steps[0].cache", "must be one of global, run_only, off"),
    ("select: maybe", "steps[0].select", "must be one of first, user"),
    ("temperature: 3", "steps[0].temperature", "must be a number from 0 to 2"),
])
def test_bad_step_settings_are_reported_on_their_line(problems_of, setting, path, message):
    assert problems_of(HEAD + f"  - id: a\n    skill: test.noop\n    {setting}\n") == [(6, path, message)]


def test_duplicate_step_ids_point_at_the_first(problems_of):
    found = problems_of(HEAD + "  - {id: a, skill: test.noop}\n  - {id: b, skill: test.noop}\n"
                               "  - {id: a, skill: test.noop}\n")
    assert found == [(6, "steps[2].id", "duplicate step id 'a' (first at line 4)")]


def test_steps_that_are_not_steps(problems_of):
    found = problems_of(HEAD + "  - 7\n  - {id: Bad-Id}\n")
    assert found == [(4, "steps[0]", "a step must be a mapping with at least id and skill"),
                     (5, "steps[1].id", "every step needs an id in lower_snake_case, starting with a letter"),
                     (5, "steps[1].skill", "every step names the skill it runs")]


@pytest.mark.parametrize("steps", ["steps: []\n", "steps: {a: 1}\n", "steps:\n"])
def test_a_workflow_needs_at_least_one_step(problems_of, steps):
    assert paths(problems_of("name: demo\nversion: 1\n" + steps)) == [(3, "steps")]


@pytest.mark.parametrize(("declaration", "path", "message"), [
    ("{type: enum}", "inputs.x.choices", "an enum input needs a non-empty list of choices"),
    ("{type: enum, choices: []}", "inputs.x.choices", "an enum input needs a non-empty list of choices"),
    ("{type: enum, choices: [a, b], default: c}", "inputs.x.default", "the default must be one of a, b"),
    ("{type: integer, min: 1, max: 5, default: 9}", "inputs.x.default", "the default must be at most 5"),
    ("{type: number, min: 0.5, default: 0}", "inputs.x.default", "the default must be at least 0.5"),
    ("{type: string, max_length: 3, default: long}", "inputs.x.default", "the default must have at most 3 characters"),
    ("{type: list, min_length: 1, default: []}", "inputs.x.default", "the default must have at least 1 items"),
    ("{type: integer, default: two}", "inputs.x.default", "the default must be of type integer"),
    ("{type: string, required: true, default: x}", "inputs.x.default",
     "a required input cannot have a default; drop one of them"),
    ("{type: date}", "inputs.x.type", "must be one of string, text, integer, number, boolean, enum, list"),
    ("{type: string, min_length: -1}", "inputs.x.min_length", "must be a whole number from 0 to 10000000"),
    ("[string]", "inputs.x", "must be a mapping (type, required, default, bounds)"),
])
def test_bad_input_declarations_are_reported(problems_of, declaration, path, message):
    source = f"name: demo\nversion: 1\ninputs:\n  x: {declaration}\nsteps:\n  - {{id: a, skill: test.noop}}\n"
    assert problems_of(source) == [(4, path, message)]


def test_an_input_name_must_be_lower_snake_case(problems_of):
    found = problems_of("name: demo\nversion: 1\ninputs:\n  Topic: {type: string}\nsteps:\n"
                        "  - {id: a, skill: test.noop}\n")
    assert found == [(4, "inputs.Topic", "input names are lower_snake_case, starting with a letter")]


MANY_PROBLEMS = """\
name: Not Valid
version: 1
colour: blue
inputs:
  mode: {type: enum}
  count: {type: integer, max: 3, default: 5, required: true}
steps:
  - id: outline
    skill: test.echo
    with:
      text: "{{ inputs.topic }}"
      bogus: 1
  - id: draft
    skill: missing.skill
    needs: [ghost]
    candidates: 0
  - id: loop_a
    skill: test.echo
    with: {text: "{{ steps.loop_b.output }}"}
  - id: loop_b
    skill: test.echo
    with: {text: "{{ steps.loop_a.output }} {{ item }}"}
  - id: outline
    skill: test.noop
    on_error: explode
"""


def test_every_problem_of_a_document_is_reported_at_once(problems_of):
    assert paths(problems_of(MANY_PROBLEMS)) == [
        (1, "name"), (3, "colour"), (5, "inputs.mode.choices"), (6, "inputs.count.default"),
        (6, "inputs.count.default"), (11, "steps[0].with.text"), (12, "steps[0].with.bogus"),
        (14, "steps[1].skill"), (15, "steps[1].needs"), (16, "steps[1].candidates"),
        (17, "steps[2]"), (22, "steps[3].with.text"), (23, "steps[4].id"), (25, "steps[4].on_error"),
    ]


def test_load_workflow_raises_with_every_problem_in_the_details(skills):
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(MANY_PROBLEMS, skills)
    error = caught.value
    assert (error.code, error.status_code) == ("WORKFLOW_INVALID", 400)
    assert error.message == "The workflow has 14 problems: line 1: name: every workflow has a name: lower case " \
                            "letters, digits, '.', '_' or '-'"
    assert len(error.details["problems"]) == 14
    assert error.details["problems"][-1] == {"line": 25, "path": "steps[4].on_error",
                                             "message": "must be one of fail, skip"}


def test_models_the_document_names_must_be_provider_colon_model_of_an_installed_provider(skills):
    source = """\
name: demo
version: 1
defaults: {model: nowhere:big}
steps:
  - id: a
    skill: test.echo
    candidates: ["offline:writer", "gpt-4o"]
  - id: b
    skill: test.echo
    with: {text: hi, extra: 1}
"""
    definition, problems = parse_workflow(source, skills, providers={"offline": object, "openai": object})
    assert definition is None
    assert [(p.line, p.path, p.message) for p in problems] == [
        (3, "defaults.model", "no installed provider 'nowhere' serves 'nowhere:big'; installed: offline, openai"),
        (7, "steps[0].candidates[1]", "name the model as provider:model (got 'gpt-4o')"),
    ]


def test_a_templated_model_is_checked_when_it_renders_and_no_provider_list_skips_the_check(skills):
    templated = HEAD + '  - {id: a, skill: test.echo, candidates: ["{{ inputs.m }}", "offline:fast"]}\n'
    assert parse_workflow(templated.replace("steps:\n", "inputs: {m: {type: string, default: 'offline:writer'}}\n"
                                                        "steps:\n"), skills, providers={"offline": object})[1] == []
    assert parse_workflow(HEAD.replace("steps:", "defaults: {model: 'anywhere:x'}\nsteps:")
                          + "  - {id: a, skill: test.echo}\n", skills)[1] == []
