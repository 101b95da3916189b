"""The JSON blueprint every Inkwright API module (core or plugin) is built from."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from ..envelope import success
from ..schemas.base import envelope_of

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC_ATTRIBUTE = "_inkwright_public"


def public(view: F) -> F:
    """Let a JSON endpoint be called without credentials (every other one needs them).

    Apply it below the flask-smorest decorators; they carry the mark (and the OpenAPI note
    that no security applies) up to the registered view.
    """
    setattr(view, PUBLIC_ATTRIBUTE, True)
    apidoc = getattr(view, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = []
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view


class EnvelopeParser(FlaskParser):
    """webargs' parser, refusing bad input with 400 as the envelope renders it.

    webargs' default is 422, which flask-smorest then documents on every operation with a
    body or query, while clients actually receive 400 VALIDATION_ERROR.
    """

    DEFAULT_VALIDATION_STATUS = 400


class EnvelopeBlueprint(Blueprint):
    """A flask-smorest blueprint whose responses, and their documentation, use the envelope."""

    ARGUMENTS_PARSER = EnvelopeParser()

    @staticmethod
    def _prepare_response_content(data: Any) -> Any:
        return success(data)

    @staticmethod
    def _make_doc_response_schema(schema: Any) -> Any:
        if schema is None:
            return None
        return envelope_of(type(schema), bool(getattr(schema, "many", False)))()
