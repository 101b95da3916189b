"""Values that fit a JSON Schema, with text about the prompt's topics where text goes."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from .json_schema import merge, resolve, type_of
from .number_values import number_in
from .prose import NOUNS, Prose
from .string_formats import formatted

_LONG_TEXT_KEYS = frozenset("""summary description text content body paragraph prose draft synopsis premise
message explanation reason rationale suggestion feedback notes note comment analysis answer excerpt chapter
story intro introduction conclusion pitch copy caption details detail scene""".split())
_TITLE_KEYS = frozenset("title headline heading subject tagline slogan hook label angle theme topic".split())
_NAME_KEYS = frozenset("name character author person protagonist antagonist villain hero narrator".split())
_WORD_KEYS = frozenset("tag tags keyword keywords category genre mood tone word kind".split())
_DEEP = 6  # past this depth only what the schema requires is generated, so recursive schemas end


class SchemaWriter:
    """A value that fits a JSON Schema, with text about the prompt's topics where text goes.

    Covers objects (properties, required, additional/min/maxProperties), arrays (items,
    prefixItems, min/maxItems, uniqueItems), strings (enum, const, min/maxLength, common
    formats), integers and numbers (bounds, exclusive bounds, multipleOf), booleans, null,
    ``$ref`` within the schema, ``allOf``, ``anyOf`` and ``oneOf``. ``pattern`` is not honoured.
    """

    def __init__(self, rng: random.Random, prose: Prose, root: Any) -> None:
        self.rng = rng
        self.prose = prose
        self.root = root

    def value(self, schema: Any, depth: int = 0, key: str = "") -> Any:
        if schema is False or depth > 3 * _DEEP:
            return None
        if schema is True or not isinstance(schema, dict):
            return self._string({}, key)
        schema = resolve(schema, self.root)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        if isinstance(schema.get("allOf"), list):
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(merge([rest, *schema["allOf"]], self.root), depth, key)
        for keyword in ("oneOf", "anyOf"):
            if isinstance(schema.get(keyword), list) and schema[keyword]:
                options = [resolve(o, self.root) if isinstance(o, dict) else o for o in schema[keyword]]
                useful = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")] or options
                # oneOf must match exactly one branch: the first is the least likely to overlap.
                chosen = useful[0] if keyword == "oneOf" else self.rng.choice(useful)
                rest = {k: v for k, v in schema.items() if k != keyword}
                chosen = merge([rest, chosen], self.root) if isinstance(chosen, dict) else chosen
                return self.value(chosen, depth, key)
        kind = type_of(schema)
        if kind == "object":
            return self._object(schema, depth, key)
        if kind == "array":
            return self._array(schema, depth, key)
        if kind == "integer":
            return number_in(schema, self.rng, integer=True)
        if kind == "number":
            return number_in(schema, self.rng, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, key)

    def _object(self, schema: dict, depth: int, key: str) -> dict[str, Any]:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        extra = schema.get("additionalProperties", True)
        extra_schema = extra if isinstance(extra, dict) else {}
        names = list(dict.fromkeys([*required, *properties]))
        if depth >= _DEEP:
            names = required
        maximum = schema.get("maxProperties")
        if isinstance(maximum, int) and len(names) > maximum:
            names = [*required, *(n for n in names if n not in required)][:max(maximum, len(required))]
        result = {name: self.value(properties.get(name, extra_schema), depth + 1, name) for name in names}
        wanted = schema.get("minProperties") or 0
        if not properties and isinstance(extra, dict) and depth < _DEEP:
            wanted = max(wanted, 2)  # a map of values: show a couple of entries
        if extra is not False:
            candidates = [*self.prose.topics.words, *NOUNS]
            for candidate in candidates:
                if len(result) >= wanted:
                    break
                if candidate not in result:
                    result[candidate] = self.value(extra_schema, depth + 1, candidate)
        return result

    def _array(self, schema: dict, depth: int, key: str) -> list[Any]:
        items = schema.get("items")
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        if isinstance(items, list):  # draft 4-2019 tuples
            prefix, items = items, schema.get("additionalItems")
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        high = int(high) if isinstance(high, int) else max(low, 4)
        # A handful of elements (two to five) unless the bounds say otherwise.
        fewest, most = max(low, min(2, high)), max(low, min(high, max(low, 2) + 3))
        count = low if depth >= _DEEP else self.rng.randint(fewest, most)
        if items is False:
            count = min(max(count, low), len(prefix))
        element_key = key[:-1] if key.endswith("s") and len(key) > 3 else key
        element = items if isinstance(items, dict) else {}
        element = resolve(element, self.root) if isinstance(element, dict) else element
        unique = bool(schema.get("uniqueItems"))
        if unique and not prefix and isinstance(element, dict) and isinstance(element.get("enum"), list):
            return self.rng.sample(element["enum"], min(count, len(element["enum"])))
        result: list[Any] = []
        seen: set[str] = set()
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else element
            value = self.value(sub, depth + 1, element_key)
            for _ in range(8):
                if not unique or _canonical(value) not in seen:
                    break
                value = self.value(sub, depth + 1, element_key)
            if unique and _canonical(value) in seen:
                continue
            seen.add(_canonical(value))
            result.append(value)
        return result

    def _string(self, schema: dict, key: str) -> str:
        text = formatted(schema.get("format"), self.rng, self.prose) if schema.get("format") else None
        if text is None:
            text = self._text_for(key)
        low = schema.get("minLength") if isinstance(schema.get("minLength"), int) else 0
        high = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None
        while len(text) < low:
            text = f"{text} {self.prose.sentence()}"
        if high is not None and len(text) > high:
            cut = text[:high]
            # End on a word where the limit leaves room for one; a tiny limit takes what fits.
            if " " in cut and high >= 12 and len(cut[:cut.rfind(" ")].rstrip(" ,;:")) >= max(low, 1):
                cut = cut[:cut.rfind(" ")].rstrip(" ,;:")
            text = cut
        return text

    def _text_for(self, key: str) -> str:
        parts = {p for p in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", key.lower()) if p} or {""}
        if parts & _LONG_TEXT_KEYS:
            return " ".join(self.prose.sentence() for _ in range(self.rng.randint(1, 3)))
        if parts & _NAME_KEYS:
            return self.prose.name()
        if parts & _WORD_KEYS:
            return self.prose.word()
        if parts & _TITLE_KEYS:
            return self.prose.title()
        return self.prose.title() if self.rng.random() < 0.5 else self.prose.sentence()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
