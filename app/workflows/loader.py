"""Reading a workflow YAML document, and reporting every problem with its line.

Everything is checked before anything runs (seed 001's ``validate()``): the document's
shape, unknown skills, template syntax, undefined variables, references to steps that do
not exist, cycles, and ``for_each`` targets that cannot be lists. All problems are
collected and reported together, each with its line and its place in the document.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

from .definition import (
    CACHE_SCOPES,
    INPUT_TYPES,
    ON_ERROR,
    SELECT_MODES,
    STEP_FIELDS,
    InputSpec,
    RetryPolicy,
    StepSpec,
    WorkflowDefinition,
)
from .inputs import check_value
from .problems import Problem, WorkflowInvalid
from .template_budget import BUDGET_CODE
from .template_foresight import foreseen_overruns
from .templates import TemplateEngine, TemplateProblem, references, single_expression
from .yaml_document import DocumentTooLarge, line_map, read_document

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
INPUT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

TOP_LEVEL = {"name", "version", "description", "inputs", "defaults", "steps"}
INPUT_KEYS = {"type", "required", "default", "description", "choices", "min", "max", "min_length", "max_length"}
STEP_KEYS = {"id", "skill", "agent", "with", "needs", "for_each", "candidates", "select", "cache", "retry", "timeout",
             "on_error", "model", "temperature", "max_tokens", "description"}
RETRY_KEYS = {"max_attempts", "backoff", "max_interval", "on_invalid_output"}
DEFAULT_KEYS = {"model", "temperature", "max_tokens"}
MAX_STEPS = 5000
#: The core skill a step ``agent: <name>`` runs (app/skills/agent_review.py).
AGENT_STEP_SKILL = "agent.review"


class _Reader:
    """Walks the parsed document, collecting problems instead of stopping at the first."""

    def __init__(self, lines: dict[str, int], skills: Mapping[str, Any] | None, engine: TemplateEngine,
                 providers: Mapping[str, Any] | None = None, agents: Mapping[str, Any] | None = None):
        self.lines = lines
        self.skills = skills
        self.agents = agents
        self.engine = engine
        self.providers = providers
        self.problems: list[Problem] = []

    def check_model(self, value: Any, path: str) -> None:
        """A model named in the document is ``provider:model`` of an installed provider (a
        template is checked when it renders, at run time)."""
        if isinstance(value, str) and "{" in value:
            return
        provider, colon, model = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not colon or not provider or not model:
            self.problem(path, f"name the model as provider:model (got {value!r})")
        elif self.providers is not None and provider not in self.providers:
            self.problem(path, f"no installed provider {provider!r} serves {value!r}; installed: "
                               f"{', '.join(sorted(self.providers)) or 'none'}")

    def problem(self, path: str, message: str, code: str | None = None) -> None:
        # The line of the nearest place that exists in the document (a missing key's
        # parent, say); the document's first line when none does.
        line, probe = None, path
        while line is None and probe:
            line = self.lines.get(probe)
            shorter = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", probe)
            probe = "" if shorter == probe else shorter
        self.problems.append(Problem(path, message, line or self.lines.get(""), code))

    def unknown_keys(self, data: dict, allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(f"{path}.{key}" if path else str(key),
                             f"unknown key {key!r}; expected one of {', '.join(sorted(allowed))}")

    def integer(self, data: dict, key: str, path: str, low: int, high: int, default: int | None) -> int | None:
        value = data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(f"{path}.{key}", f"must be a whole number from {low} to {high}")
            return default
        return value

    def number(self, data: dict, key: str, path: str, low: float, high: float,
               default: float | None) -> float | None:
        value = data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            self.problem(f"{path}.{key}", f"must be a number from {low:g} to {high:g}")
            return default
        return float(value)

    def choice(self, data: dict, key: str, path: str, choices: tuple[str, ...], default: str) -> str:
        value = data.get(key, default)
        if value not in choices:
            self.problem(f"{path}.{key}", f"must be one of {', '.join(choices)}")
            return default
        return value

    # Inputs ---------------------------------------------------------------------------
    def read_inputs(self, raw: Any) -> tuple[InputSpec, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, dict):
            self.problem("inputs", "must be a mapping of input name to its declaration")
            return ()
        specs = []
        for name, declaration in raw.items():
            path = f"inputs.{name}"
            if not isinstance(name, str):
                self.problem(path, f"YAML reads this input name as {name!r}; quote it (e.g. 'on') or choose another")
                continue
            if not INPUT_NAME.match(name):
                self.problem(path, "input names are lower_snake_case, starting with a letter")
                continue
            if declaration is None:
                declaration = {}
            if not isinstance(declaration, dict):
                self.problem(path, "must be a mapping (type, required, default, bounds)")
                continue
            self.unknown_keys(declaration, INPUT_KEYS, path)
            kind = self.choice(declaration, "type", path, INPUT_TYPES, "string")
            choices = declaration.get("choices", [])
            if kind == "enum" and (not isinstance(choices, list) or not choices):
                self.problem(f"{path}.choices", "an enum input needs a non-empty list of choices")
                choices = []
            spec = InputSpec(
                name=name, type=kind, required=bool(declaration.get("required", False)),
                default=declaration.get("default"), has_default="default" in declaration,
                description=str(declaration.get("description", "")),
                choices=tuple(choices) if isinstance(choices, list) else (),
                minimum=self.number(declaration, "min", path, -1e18, 1e18, None),
                maximum=self.number(declaration, "max", path, -1e18, 1e18, None),
                min_length=self.integer(declaration, "min_length", path, 0, 10_000_000, None),
                max_length=self.integer(declaration, "max_length", path, 0, 10_000_000, None),
            )
            if spec.required and spec.has_default:
                self.problem(f"{path}.default", "a required input cannot have a default; drop one of them")
            if spec.has_default and spec.default is not None:
                problem = check_value(spec, spec.default)
                if problem:
                    self.problem(f"{path}.default", f"the default {problem}")
            specs.append(spec)
        return tuple(specs)

    # Steps ----------------------------------------------------------------------------
    def read_retry(self, raw: Any, path: str) -> RetryPolicy:
        if raw is None:
            return RetryPolicy()
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = {"max_attempts": raw}
        if not isinstance(raw, dict):
            self.problem(path, "must be a mapping (max_attempts, backoff, max_interval) or a number of attempts")
            return RetryPolicy()
        self.unknown_keys(raw, RETRY_KEYS, path)
        policy = RetryPolicy(
            max_attempts=self.integer(raw, "max_attempts", path, 1, 20, 1),
            backoff=self.number(raw, "backoff", path, 0, 3600, 1.0),
            max_interval=self.number(raw, "max_interval", path, 0, 86400, 60.0),
            on_invalid_output=bool(raw.get("on_invalid_output", True)),
        )
        if policy.max_interval < policy.backoff:
            self.problem(f"{path}.max_interval", "must be at least the backoff")
        return policy

    def read_step(self, raw: Any, index: int) -> StepSpec | None:
        path = f"steps[{index}]"
        if not isinstance(raw, dict):
            self.problem(path, "a step must be a mapping with at least id and skill")
            return None
        self.unknown_keys(raw, STEP_KEYS, path)
        step_id = raw.get("id")
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            self.problem(f"{path}.id", "every step needs an id in lower_snake_case, starting with a letter")
            step_id = f"_step{index}"
        if "agent" in raw:
            raw = self.agent_step(raw, path)
        skill = raw.get("skill")
        if not isinstance(skill, str) or not skill:
            self.problem(f"{path}.skill", "every step names the skill it runs")
            skill = ""
        elif self.skills is not None and skill not in self.skills:
            self.problem(f"{path}.skill", f"unknown skill {skill!r}; installed: {', '.join(sorted(self.skills)) or 'none'}")
        with_ = raw.get("with", {}) or {}
        if not isinstance(with_, dict):
            self.problem(f"{path}.with", "must be a mapping of the skill's input names to values or templates")
            with_ = {}
        elif self.skills is not None and skill in self.skills:
            self.check_skill_inputs(self.skills[skill], with_, f"{path}.with")
        if isinstance(with_, dict) and with_.get("model") is not None:
            self.check_model(with_["model"], f"{path}.with.model")
        needs = raw.get("needs", []) or []
        if isinstance(needs, str):
            needs = [needs]
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            self.problem(f"{path}.needs", "must be a list of step ids")
            needs = []
        candidates_raw = raw.get("candidates", 1)
        models: tuple[str, ...] = ()
        candidates = 1
        if isinstance(candidates_raw, list):
            if not candidates_raw or not all(isinstance(m, str) and m for m in candidates_raw) \
                    or len(candidates_raw) > 10:
                self.problem(f"{path}.candidates", "a list of candidates names 1 to 10 models")
            else:
                for position, model in enumerate(candidates_raw):
                    self.check_model(model, f"{path}.candidates[{position}]")
                models = tuple(candidates_raw)
        else:
            candidates = self.integer(raw, "candidates", path, 1, 10, 1)
        for_each = raw.get("for_each")
        if for_each is not None and not isinstance(for_each, str):
            self.problem(f"{path}.for_each", "must be a template naming a list, e.g. '{{ inputs.topics }}'")
            for_each = None
        if raw.get("cache") is False:
            # YAML 1.1 reads a bare ``off`` as false, and ``cache: off`` is how the scope is written.
            raw = {**raw, "cache": "off"}
        select = self.choice(raw, "select", path, SELECT_MODES, "first")
        if select == "user" and for_each is not None:
            self.problem(f"{path}.select", "a for_each step cannot wait for a person to select; use select: first")
        return StepSpec(
            id=step_id, skill=skill, with_=with_, needs=tuple(needs), for_each=for_each,
            candidates=candidates, models=models, select=select,
            cache=self.choice(raw, "cache", path, CACHE_SCOPES, "run_only"),
            retry=self.read_retry(raw.get("retry"), f"{path}.retry"),
            timeout=self.integer(raw, "timeout", path, 1, 86400, None),
            on_error=self.choice(raw, "on_error", path, ON_ERROR, "fail"),
            model=raw.get("model") if isinstance(raw.get("model"), str) else None,
            temperature=self.number(raw, "temperature", path, 0, 2, None),
            max_tokens=self.integer(raw, "max_tokens", path, 1, 1_000_000, None),
            line=self.lines.get(path),
        )

    def agent_step(self, raw: dict, path: str) -> dict:
        """``agent: style`` in place of ``skill:``: the step runs the core's ``agent.review``
        skill with ``with.agent`` set, and its output is the agent run's results."""
        agent = raw.get("agent")
        if "skill" in raw:
            self.problem(f"{path}.agent", "a step runs a skill or an agent, not both")
            return raw
        if not isinstance(agent, str) or not agent:
            self.problem(f"{path}.agent", "names the review agent the step runs")
            return {**raw, "skill": AGENT_STEP_SKILL}
        if self.agents is not None and agent not in self.agents:
            self.problem(f"{path}.agent", f"unknown agent {agent!r}; installed: {', '.join(sorted(self.agents)) or 'none'}")
        with_ = raw.get("with") if isinstance(raw.get("with"), dict) else {}
        return {**raw, "skill": AGENT_STEP_SKILL, "with": {**with_, "agent": agent}}

    def check_skill_inputs(self, skill: Any, with_: dict, path: str) -> None:
        """``with`` names only inputs the skill declares, and every one it requires."""
        schema = getattr(skill, "input_schema", None)
        declared = getattr(schema, "_declared_fields", None)
        if not declared:
            return
        names = {field.data_key or name: field for name, field in declared.items()}
        for key in with_:
            if key not in names:
                self.problem(f"{path}.{key}", f"skill {skill.name} takes no input {key!r}; it takes "
                                              f"{', '.join(sorted(names))}")
        for key, field in names.items():
            if field.required and key not in with_:
                self.problem(path, f"skill {skill.name} needs the input {key!r}")

    # Templates and the graph ------------------------------------------------------------
    def template_references(self, step: StepSpec, index: int, inputs: dict[str, InputSpec],
                            step_ids: set[str]) -> set[str]:
        """Check a step's templates; return the steps they read."""
        read: set[str] = set()
        allowed = {"inputs", "steps"} | ({"item", "index"} if step.for_each else set())
        sources = [(f"steps[{index}].with.{key}", value) for key, value in _strings(step.with_)]
        if step.for_each:
            sources.append((f"steps[{index}].for_each", step.for_each))
        for path, source in sources:
            if "{" not in source:
                continue
            try:
                tree = self.engine.parse(source)
            except TemplateProblem as exc:
                self.problem(path, f"template syntax error: {exc}")
                continue
            for overrun in foreseen_overruns(tree):
                self.problem(path, f"the template is past its budget: {overrun}", BUDGET_CODE)
            free, found = references(tree)
            for name in sorted(free - allowed):
                hint = " (item and index exist only in for_each steps)" if name in ("item", "index") else ""
                self.problem(path, f"undefined variable {name!r}{hint}; templates read inputs.* and steps.<id>.*")
            if path.endswith(".for_each") and free & {"item", "index"}:
                self.problem(path, "for_each cannot read item or index: they come from it")
            for ref in found:
                if ref.root == "inputs":
                    if ref.name is None:
                        continue
                    if ref.name not in inputs:
                        self.problem(path, f"undefined variable inputs.{ref.name}; declared inputs: "
                                           f"{', '.join(sorted(inputs)) or 'none'}")
                    continue
                if ref.name is None:
                    self.problem(path, "read another step as steps.<id>.output so the dependency is known")
                    continue
                if ref.name not in step_ids:
                    self.problem(path, f"undefined variable steps.{ref.name}: no step has that id")
                elif ref.name == step.id:
                    self.problem(path, f"step {step.id!r} cannot read its own output")
                else:
                    read.add(ref.name)
                if ref.field is not None and ref.field not in STEP_FIELDS:
                    self.problem(path, f"steps.{ref.name}.{ref.field} does not exist; a step offers "
                                       f"{', '.join(STEP_FIELDS)}")
            if path.endswith(".for_each"):
                self.check_for_each_target(path, source, found, inputs)
        return read

    def check_for_each_target(self, path: str, source: str, found: list, inputs: dict[str, InputSpec]) -> None:
        expression = single_expression(source)
        if expression is None:
            self.problem(path, "for_each must be a single expression, e.g. '{{ steps.outline.output.chapters }}'")
            return
        direct_input = re.fullmatch(r"inputs\.([a-z][a-z0-9_]*)", expression)
        if direct_input and direct_input.group(1) in inputs and inputs[direct_input.group(1)].type != "list":
            spec = inputs[direct_input.group(1)]
            self.problem(path, f"for_each needs a list, but inputs.{spec.name} is of type {spec.type}")
        if not any(ref.root == "steps" or ref.root == "inputs" for ref in found):
            self.problem(path, "for_each must read a list from inputs.* or steps.<id>.*")

    def check_cycles(self, steps: list[StepSpec], index_of: dict[str, int]) -> None:
        graph = {step.id: step.depends_on for step in steps}
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for child in graph.get(node, ()):
                if state.get(child) == 1:
                    cycle = trail[trail.index(child):] + [child] if child in trail else [node, child]
                    self.problem(f"steps[{index_of[child]}]", f"dependency cycle: {' → '.join(cycle)}")
                elif state.get(child) is None and child in graph:
                    visit(child, trail + [child])
            state[node] = 2

        for step in steps:
            if state.get(step.id) is None:
                visit(step.id, [step.id])


def _strings(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Every string inside a ``with`` block, with its dotted place."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        found.append((prefix, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _strings(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _strings(item, f"{prefix}[{index}]")
    return found


def _scalar_text(root: yaml.Node | None, key: str) -> str | None:
    """The text of a top-level scalar exactly as written in the document."""
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            if key_node.value == key and isinstance(value_node, yaml.ScalarNode):
                return value_node.value
    return None


def parse_workflow(source: str, skills: Mapping[str, Any] | None = None, engine: TemplateEngine | None = None,
                   providers: Mapping[str, Any] | None = None,
                   agents: Mapping[str, Any] | None = None) -> tuple[WorkflowDefinition | None, list[Problem]]:
    """Read a YAML document into a definition, or say everything wrong with it.

    :param skills: installed skills by name; ``None`` skips the unknown-skill check.
    :param providers: installed model providers by name; ``None`` skips the unknown-provider
        check of the models the document names.
    :param agents: installed review agents by name, for steps ``agent: <name>``; ``None``
        skips the unknown-agent check.
    :returns: the definition (``None`` if there are problems) and the problems.
    """
    engine = engine or TemplateEngine()
    try:
        root_node, data = read_document(source)
    except DocumentTooLarge as exc:
        return None, [Problem("", str(exc), exc.line)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem("", f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                              mark.line + 1 if mark else None)]
    except (ValueError, OverflowError) as exc:  # a scalar Python will not read (a date out of range)
        return None, [Problem("", f"a value in the document cannot be read: {exc}")]
    lines = line_map(root_node) if root_node is not None else {}
    reader = _Reader(lines, skills, engine, providers, agents)
    if not isinstance(data, dict):
        reader.problem("", "a workflow is a YAML mapping with name, version and steps")
        return None, reader.problems
    reader.unknown_keys(data, TOP_LEVEL, "")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        reader.problem("name", "every workflow has a name: lower case letters, digits, '.', '_' or '-'")
        name = "invalid"
    version = data.get("version")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        # Keep the version as written: YAML reads 1.10 as the number 1.1.
        version = _scalar_text(root_node, "version") or version
    if version is None or isinstance(version, (bool, dict, list)) or not str(version).strip():
        reader.problem("version", "every workflow has a version, e.g. '1' or '2.1.0'")
        version = "0"
    version = str(version).strip()
    if len(version) > 50:
        reader.problem("version", "a version is at most 50 characters")
    description = data.get("description") or ""
    if not isinstance(description, str):
        reader.problem("description", "must be text")
        description = ""
    inputs = reader.read_inputs(data.get("inputs"))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        reader.problem("defaults", "must be a mapping of model, temperature and max_tokens")
        defaults = {}
    else:
        reader.unknown_keys(defaults, DEFAULT_KEYS, "defaults")
        reader.number(defaults, "temperature", "defaults", 0, 2, None)
        reader.integer(defaults, "max_tokens", "defaults", 1, 1_000_000, None)
        if defaults.get("model") is not None:
            reader.check_model(defaults["model"], "defaults.model")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        reader.problem("steps", "a workflow needs a list of at least one step")
        raw_steps = []
    if len(raw_steps) > MAX_STEPS:
        reader.problem("steps", f"at most {MAX_STEPS} steps")
        raw_steps = raw_steps[:MAX_STEPS]
    steps = [step for index, raw in enumerate(raw_steps) if (step := reader.read_step(raw, index)) is not None]
    index_of: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step.id in index_of:
            reader.problem(f"steps[{index}].id", f"duplicate step id {step.id!r} (first at line "
                                                 f"{lines.get(f'steps[{index_of[step.id]}]')})")
        else:
            index_of[step.id] = index
    by_name = {spec.name: spec for spec in inputs}
    resolved = []
    for index, step in enumerate(steps):
        for need in step.needs:
            if need not in index_of:
                reader.problem(f"steps[{index}].needs", f"no step has the id {need!r}")
            elif need == step.id:
                reader.problem(f"steps[{index}].needs", "a step cannot need itself")
        read = reader.template_references(step, index, by_name, set(index_of))
        depends = tuple(dict.fromkeys([n for n in step.needs if n in index_of and n != step.id]
                                      + sorted(read, key=index_of.get)))
        resolved.append(StepSpec(**{**step.__dict__, "depends_on": depends}))
    reader.check_cycles(resolved, index_of)
    if reader.problems:
        return None, sorted(reader.problems, key=lambda p: (p.line or 0, p.path))
    return WorkflowDefinition(name=name, version=version, description=description, inputs=inputs,
                              defaults=dict(defaults), steps=tuple(resolved)), []


def load_workflow(source: str, skills: Mapping[str, Any] | None = None, engine: TemplateEngine | None = None,
                  providers: Mapping[str, Any] | None = None,
                  agents: Mapping[str, Any] | None = None) -> WorkflowDefinition:
    """Like :func:`parse_workflow`, raising instead of returning problems.

    :raises WorkflowInvalid: with every problem and its line.
    """
    definition, problems = parse_workflow(source, skills, engine, providers, agents)
    if problems:
        raise WorkflowInvalid(problems)
    return definition
