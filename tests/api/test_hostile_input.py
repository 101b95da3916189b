"""Hostile input (issue 11): each case that once answered 500 or held a web worker gets a
4xx in the envelope, leaves nothing behind, and is answered within a second — the limit,
not only the error."""

from __future__ import annotations

import time

import pytest

#: What "at once" means for a refusal: well under what the attacks used to cost (2–4.5 s).
WITHIN_SECONDS = 1.0


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def harmless_seconds(api_client, yaml: bool) -> float:
    """How long a harmless request of the same kind takes right now: "at once" is measured
    beside it, since under a loaded CI (PostgreSQL on the same 2 cores) any request can take
    a second, while the hostile ones unchecked take minutes."""
    if yaml:
        return timed(lambda: api_client.post("/api/workflows/validate", content_type="application/yaml",
                                             data=one_step("{{ 'fine' }}", name="harmless")))[1]
    return timed(lambda: api_client.post("/api/runs", data=b"{}", content_type="application/json"))[1]


def alias_bomb(levels: int = 6) -> str:
    """``levels`` levels of ten aliases each: 10**levels leaves in ~300 bytes."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(levels):
        this, below = chr(98 + level), chr(97 + level)
        lines.append(f"{this}: &{this} [{', '.join('*' + below for _ in range(10))}]")
    return "\n".join(lines) + '\nname: bomb\nversion: "1"\nsteps: []\n'


def one_step(template: str, name: str = "hostile") -> str:
    return f'name: {name}\nversion: "1"\nsteps:\n  - id: only\n    skill: test.echo\n    with: {{text: {template!r}}}\n'


@pytest.mark.parametrize("endpoint", ["/api/workflows/validate", "/api/workflows"])
def test_a_yaml_alias_bomb_is_refused_at_once(api_client, expect_error, endpoint):
    source = alias_bomb()
    assert len(source) < 500
    harmless = harmless_seconds(api_client, yaml=True)
    response, took = timed(lambda: api_client.post(endpoint, data=source, content_type="application/yaml"))
    problems = expect_error(response, 400, "WORKFLOW_INVALID")["details"]["problems"]
    assert "aliases repeat too much" in problems[0]["message"] and problems[0]["line"]
    assert took < WITHIN_SECONDS + harmless
    assert "bomb" not in str(api_client.get("/api/workflows").json["data"])  # nothing stored


def test_an_honest_alias_still_works(api_client, upload_workflow):
    source = ('name: shared\nversion: "1"\ndefaults: &common {model: "offline:writer"}\nsteps:\n'
              '  - id: a\n    skill: test.echo\n    with: &said {text: "hello"}\n'
              '  - id: b\n    skill: test.echo\n    with: *said\n')
    assert upload_workflow(api_client, source)["name"] == "shared"


@pytest.mark.parametrize("source, words", [
    ("a: " + "[" * 1000 + "]" * 1000 + "\n", "nests deeper than 64"),
    ("a: &a [*a]\n", "contains itself"),
    ("n: " + "1" * 5000 + "\n", "more than 4,300 digits"),
], ids=["deep", "recursive", "5000-digit integer"])
def test_yaml_past_its_bounds_is_invalid_with_a_reason(api_client, expect_error, source, words):
    harmless = harmless_seconds(api_client, yaml=True)
    response, took = timed(lambda: api_client.post("/api/workflows", data=source, content_type="application/yaml"))
    problems = expect_error(response, 400, "WORKFLOW_INVALID")["details"]["problems"]
    assert words in problems[0]["message"] and took < WITHIN_SECONDS + harmless


def test_a_5000_digit_constant_in_a_template_is_invalid_not_a_500(api_client, expect_error):
    source = one_step("{{ " + "9" * 5000 + " }}")
    harmless = harmless_seconds(api_client, yaml=True)
    response, took = timed(lambda: api_client.post("/api/workflows/validate", data=source,
                                                   content_type="application/yaml"))
    problems = expect_error(response, 400, "WORKFLOW_INVALID")["details"]["problems"]
    assert "cannot be read" in problems[0]["message"] and took < WITHIN_SECONDS + harmless


@pytest.mark.parametrize("template, words", [
    ("{% for i in range(6000) %}{% for j in range(6000) %}{% endfor %}{% endfor %}", "36,000,000 iterations"),
    ("{{ 'a' * 10**9 }}", "more than 1,000,000 items"),
    ("{{ range(10**9)|length }}", "range() of 1,000,000,000 numbers"),
    ("{{ 10 ** 20000 }}", "wider than 10,000 bits"),
], ids=["nested loops", "huge string", "huge range", "huge integer"])
@pytest.mark.parametrize("endpoint", ["/api/workflows/validate", "/api/workflows"])
def test_a_template_whose_constants_pass_the_budget_is_refused_when_checked(
        api_client, expect_error, endpoint, template, words):
    """Seen in the template's constants: the person hears it at validate (or upload) time,
    with the step, the line and the budget's code, not when a run fails."""
    harmless = harmless_seconds(api_client, yaml=True)
    response, took = timed(lambda: api_client.post(endpoint, data=one_step(template), content_type="application/yaml"))
    (problem,) = expect_error(response, 400, "WORKFLOW_INVALID")["details"]["problems"]
    assert problem["code"] == "TEMPLATE_BUDGET_EXCEEDED" and problem["path"] == "steps[0].with.text"
    assert words in problem["message"] and "line 1 of the template" in problem["message"]
    assert problem["line"] == 6 and took < WITHIN_SECONDS + harmless
    assert "hostile" not in str(api_client.get("/api/workflows").json["data"])


def reading_n(template: str) -> str:
    """A workflow whose template's cost depends on its input ``n``: only a run can tell."""
    return ('name: hostile\nversion: "1"\ninputs:\n  n: {type: integer, required: true}\nsteps:\n'
            f'  - id: only\n    skill: test.echo\n    with: {{text: {template!r}}}\n')


@pytest.mark.parametrize("template, n, code", [
    ("{% for i in range(inputs.n) %}{% for j in range(inputs.n) %}{% endfor %}{% endfor %}", 6000,
     "TEMPLATE_BUDGET_EXCEEDED"),
    ("{{ 'a' * inputs.n }}", 10**9, "TEMPLATE_BUDGET_EXCEEDED"),
    ("{{ 'a'|center(inputs.n) }}", 999999999, "TEMPLATE_BUDGET_EXCEEDED"),
    ("{% for i in range(inputs.n) %}" + "y" * 100 + "{% endfor %}", 100000, "TEMPLATE_BUDGET_EXCEEDED"),
    ("{{ range(inputs.n)|length }}", 10**9, "TEMPLATE_ERROR"),
], ids=["nested loops", "huge string", "huge filter width", "huge output", "huge range"])
def test_a_template_past_its_budget_fails_its_step_not_the_request(
        api_client, upload_workflow, start_run, get_run, run_jobs, template, n, code):
    upload_workflow(api_client, reading_n(template))
    # Starting a run is itself work (several rows, on PostgreSQL over the network): "at once"
    # is measured beside a harmless start of the same workflow, in the same moment.
    _, harmless = timed(lambda: api_client.post("/api/runs", json={"workflow": "hostile", "inputs": {"n": 1}}))
    response, took = timed(lambda: api_client.post("/api/runs", json={"workflow": "hostile", "inputs": {"n": n}}))
    assert response.status_code == 202, response.get_data(as_text=True)
    assert took < WITHIN_SECONDS + harmless
    run_jobs()
    run = get_run(api_client, response.json["data"]["id"])
    step = run["steps"][0]
    assert run["status"] == "failed" and step["status"] == "failed"
    assert step["error"]["code"] == code, step["error"]
    assert "only" in step["error"]["message"]  # the step is named


@pytest.mark.parametrize("path", ["/api/runs", "/api/events", "/api/account/usage"])  # plugins' lists: their tests
def test_an_offset_past_any_list_is_a_400(api_client, expect_error, path):
    response = api_client.get(f"{path}?offset={2 ** 63}")
    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert "offset" in str(error["details"])


@pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000])
def test_json_nested_1000_deep_is_malformed_at_once(api_client, expect_error, body):
    harmless = harmless_seconds(api_client, yaml=False)
    response, took = timed(lambda: api_client.post("/api/runs", data=body, content_type="application/json"))
    error = expect_error(response, 400, "MALFORMED_REQUEST")
    assert error["details"] == {"maxDepth": 64} and took < WITHIN_SECONDS + harmless


def test_brackets_inside_strings_do_not_count_as_nesting(api_client, upload_workflow):
    upload_workflow(api_client, one_step("{{ inputs | length }}", "brackets"))
    response = api_client.post("/api/runs", json={"workflow": "brackets", "inputs": {}, "note": "[" * 500})
    assert response.json["error"]["code"] != "MALFORMED_REQUEST"


@pytest.mark.parametrize("text", ['"\\udada"', '"tail \\udc00"', '"\\ud83d\\u0041"'], ids=["high", "low", "unpaired"])
def test_half_a_surrogate_pair_is_malformed_not_a_500(api_client, expect_error, row_counts, text):
    before = row_counts()
    body = '{"workflow": "x", "inputs": {"topic": ' + text + "}}"
    harmless = harmless_seconds(api_client, yaml=False)
    response, took = timed(lambda: api_client.post("/api/runs", data=body, content_type="application/json"))
    assert "surrogate" in expect_error(response, 400, "MALFORMED_REQUEST")["message"] and took < WITHIN_SECONDS + harmless
    assert row_counts() == before


def test_a_whole_surrogate_pair_is_just_a_character(api_client, upload_workflow):
    upload_workflow(api_client, 'name: paired\nversion: "1"\ninputs:\n  topic: {type: string, required: true}\n'
                                'steps:\n  - id: only\n    skill: test.echo\n    with: {text: "{{ inputs.topic }}"}\n')
    body = '{"workflow": "paired", "inputs": {"topic": "\\ud83d\\ude00"}}'
    response = api_client.post("/api/runs", data=body, content_type="application/json")
    assert response.status_code == 202 and response.json["data"]["inputs"]["topic"] == "\U0001F600"
