"""Skill schemas, built once per skill class and reused for every step.

A marshmallow ``Schema()`` is costly to build and safe to reuse for load and dump, and
the engine loads and dumps a step's inputs and output on every step.
"""

from __future__ import annotations

import functools

from marshmallow import Schema

from ..skill import Skill


@functools.lru_cache(maxsize=1024)
def input_schema(skill: type[Skill]) -> Schema:
    return skill.input_schema()


@functools.lru_cache(maxsize=1024)
def output_schema(skill: type[Skill]) -> Schema:
    return skill.output_schema()
