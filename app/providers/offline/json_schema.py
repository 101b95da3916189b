"""Reading a JSON Schema: local ``$ref``, ``allOf`` merging and the type a schema implies.

Pure functions of the schema: no randomness, so the value writer stays about choosing values.
"""

from __future__ import annotations

from typing import Any


def type_of(schema: dict) -> str:
    """The type ``schema`` asks for: its ``type`` (the first non-null one), else the one its keywords imply."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or kind
        kind = kinds[0] if kinds else None
    if isinstance(kind, str):
        return kind
    if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def resolve(schema: dict, root: Any) -> dict:
    """``schema`` with its local ``$ref`` followed into ``root``; its own keywords win over the target's."""
    seen = 0
    while isinstance(schema.get("$ref"), str) and seen < 32:
        seen += 1
        target: Any = root
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return {k: v for k, v in schema.items() if k != "$ref"}  # remote refs are not fetched
        for part in filter(None, ref[1:].split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                target = {}
                break
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest} if isinstance(target, dict) else rest
    return schema


def merge(schemas: list[Any], root: Any) -> dict:
    """One schema asking for all of ``schemas`` (as ``allOf`` does), their bounds narrowed."""
    merged: dict[str, Any] = {}
    for schema in schemas:
        if not isinstance(schema, dict):
            continue
        for keyword, value in resolve(schema, root).items():
            if keyword == "properties" and isinstance(value, dict):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif keyword == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            elif keyword in ("minimum", "minLength", "minItems", "minProperties") and keyword in merged:
                merged[keyword] = max(merged[keyword], value)
            elif keyword in ("maximum", "maxLength", "maxItems", "maxProperties") and keyword in merged:
                merged[keyword] = min(merged[keyword], value)
            else:
                merged.setdefault(keyword, value)
    return merged
