"""Checking the inputs a person or client gives a run against the workflow's declarations."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import yaml

from ..errors import ValidationError
from .definition import InputSpec, WorkflowDefinition

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "text": (str,), "enum": (str, int, float, bool), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "list": (list,),
}


def check_value(spec: InputSpec, value: Any) -> str | None:
    """The problem with one value, as a phrase (``"must be a whole number"``), or ``None``."""
    expected = _PYTHON_TYPES[spec.type]
    if isinstance(value, bool) and bool not in expected:
        return f"must be of type {spec.type}"
    if not isinstance(value, expected):
        return f"must be of type {spec.type}"
    # True == 1 in Python: a boolean only matches a boolean choice, and a number only a number.
    if spec.type == "enum" and not any(value == choice and isinstance(value, bool) == isinstance(choice, bool)
                                       for choice in spec.choices):
        return f"must be one of {', '.join(map(str, spec.choices))}"
    if spec.type in ("integer", "number"):
        # NaN passes every bound, and neither it nor infinity is JSON the database takes.
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if spec.minimum is not None and value < spec.minimum:
            return f"must be at least {spec.minimum:g}"
        if spec.maximum is not None and value > spec.maximum:
            return f"must be at most {spec.maximum:g}"
    if spec.type in ("string", "text", "list"):
        unit = "items" if spec.type == "list" else "characters"
        if spec.min_length is not None and len(value) < spec.min_length:
            return f"must have at least {spec.min_length} {unit}"
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"must have at most {spec.max_length} {unit}"
    if spec.type == "string" and "\n" in value:
        return "must be one line (use type text for several)"
    return None


def resolve_inputs(definition: WorkflowDefinition, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's inputs: what was given, checked, with declared defaults filled in.

    :raises ValidationError: listing every bad, missing or unknown input under
        ``details.fields`` (keys ``inputs.<name>``).
    """
    given = dict(given or {})
    declared = {spec.name: spec for spec in definition.inputs}
    problems: dict[str, list[str]] = {}
    for name in given:
        if name not in declared:
            problems[f"inputs.{name}"] = [f"Unknown input; this workflow takes {', '.join(declared) or 'none'}."]
    resolved: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given and given[name] is not None:
            problem = check_value(spec, given[name])
            if problem:
                problems[f"inputs.{name}"] = [f"{problem[0].upper()}{problem[1:]}."]
            resolved[name] = float(given[name]) if spec.type == "number" else given[name]
        elif spec.has_default:
            resolved[name] = spec.default
        elif spec.required:
            problems[f"inputs.{name}"] = ["Missing data for required input."]
        else:
            resolved[name] = None
    if problems:
        raise ValidationError("Some inputs are not valid for this workflow.", {"fields": problems})
    return resolved


def parse_cli_value(raw: str) -> Any:
    """Read ``-i key=value`` the way YAML reads a scalar: 3 is a number, true a boolean."""
    try:
        value = yaml.safe_load(raw)
        # YAML also reads dates and timestamps; inputs are JSON, so those stay the text typed.
        json.dumps(value, allow_nan=False)
    except (yaml.YAMLError, TypeError, ValueError):
        return raw
    return raw if value is None and raw.strip() not in ("null", "~") else value
