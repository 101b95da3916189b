"""A JSON request body is measured before anything parses it into objects.

Two kilobytes of ``[[[[…`` nested a thousand deep once reached webargs and marshmallow,
which walk a body recursively, and came back as a ``RecursionError`` — a 500 on any JSON
endpoint. No Inkwright body is deeper than a handful of levels, so a body nested deeper than
:data:`MAX_DEPTH` is refused as ``MALFORMED_REQUEST`` at once. The scan skips strings (a
bracket inside one is text) and stops at the first level too deep, so a hostile body costs
no more than reading it.

A JSON string may also spell half of a UTF-16 pair alone (``"\udada"``): Python reads it
into a string no UTF-8 can encode, and the first hash or database write of it failed with a
500. No text holds such a thing, so it is ``MALFORMED_REQUEST`` too — looked for only in a
body whose bytes spell a surrogate escape at all.
"""

from __future__ import annotations

import json
import re

from flask import request

from .envelope import MalformedRequestError

#: Nesting of objects and arrays a request body may have.
MAX_DEPTH = 64

_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_OPENING = frozenset(b"[{")


def json_depth_exceeds(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``body`` nests objects and arrays deeper than ``limit`` (strings skipped)."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(body):
        token = match.group()
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def holds_lone_surrogate(body: bytes) -> bool:
    """Whether the JSON ``body`` spells half a UTF-16 pair on its own (a whole pair is fine)."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:
        return False  # not JSON at all: the parser says so in its own words
    return False


def check_json_body() -> None:
    """Before any view: refuse a JSON body nested past :data:`MAX_DEPTH`, or with a lone
    surrogate in a string."""
    if not request.is_json or not request.content_length:
        return
    body = request.get_data(cache=True)
    if json_depth_exceeds(body):
        raise MalformedRequestError(f"The JSON body nests deeper than {MAX_DEPTH} levels.",
                                    {"maxDepth": MAX_DEPTH})
    if holds_lone_surrogate(body):
        raise MalformedRequestError("The JSON body holds half of a UTF-16 surrogate pair (\\udXXX) alone, "
                                    "which is no character.")
