"""Numbers that fit a JSON Schema: bounds, exclusive bounds (both drafts) and ``multipleOf``."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any


def number_in(schema: dict, rng: random.Random, integer: bool) -> int | float:
    """A number (an integer when ``integer``) within the bounds and ``multipleOf`` of ``schema``."""
    low, high = _real(schema.get("minimum")), _real(schema.get("maximum"))
    low_open = high_open = False
    exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if exclusive_low is True:  # draft 4: a flag on minimum
        low_open = low is not None
    elif _real(exclusive_low) is not None and (low is None or exclusive_low >= low):
        low, low_open = _real(exclusive_low), True
    if exclusive_high is True:
        high_open = high is not None
    elif _real(exclusive_high) is not None and (high is None or exclusive_high <= high):
        high, high_open = _real(exclusive_high), True
    if low is None and high is None:
        low, high = (1, 100) if integer else (0, 100)
    elif low is None:
        low = high - 100
    elif high is None:
        high = low + 100
    assert low is not None and high is not None
    step = _real(schema.get("multipleOf"))
    if integer:
        low = math.floor(low) + 1 if low_open else math.ceil(low)
        high = math.ceil(high) - 1 if high_open else math.floor(high)
        low_open = high_open = False

    def inside(value: float) -> bool:
        return (value > low if low_open else value >= low) and (value < high if high_open else value <= high)

    if step and step > 0:
        first, last = math.ceil(low / step), math.floor(high / step)
        for _ in range(20 if first <= last else 0):
            exact = Decimal(str(step)) * rng.randint(first, last)
            if integer and exact % 1:
                continue
            value = int(exact) if integer else float(exact)
            # jsonschema's own test for a float multipleOf is this division.
            if inside(value) and (value / step == int(value / step)):
                return value
    if integer:
        return rng.randint(low, high) if low <= high else int(low)
    value = round(rng.uniform(low, high), 2)
    return value if inside(value) else (low + high) / 2


def _real(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
