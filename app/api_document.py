"""The API's own OpenAPI document as a judge of its answers: does a response say what the
document promises? (issue 11: the fuzz gate's ``response_schema_conformance``, in the tests).

OpenAPI 3.1 schemas are JSON schema 2020-12, so ``jsonschema`` reads them as they are, with
the document itself as the registry its ``$ref`` pointers resolve in.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_HOME = "urn:inkwright:openapi"


class ApiDocument:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry = Registry().with_resource(_HOME, Resource.from_contents(document, default_specification=DRAFT202012))

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any]:
        """The JSON schema documented for ``status`` of ``method path`` (``path`` as the document
        writes it: ``/api/runs/{run_id}``).

        :raises KeyError: if the document has no such response: that is a finding too."""
        responses = self.document["paths"][path][method.lower()]["responses"]
        response = responses.get(str(status)) or responses["default"]
        if "$ref" in response:  # a shared response: #/components/responses/<name>
            response = self.document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response["content"]["application/json"]["schema"]

    def problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Each way ``body`` breaks its documented schema, as ``where: what``; none if it keeps it."""
        schema = self.response_schema(method, path, status)
        if "$ref" in schema:
            schema = {"$ref": _HOME + schema["$ref"]}
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        found = []
        for error in validator.iter_errors(body):
            # An anyOf (data or null) fails as a whole: name the deepest reasons inside it.
            for reason in _deepest(error):
                found.append(f"{'/'.join(map(str, reason.absolute_path)) or '(body)'}: {reason.message[:300]}")
        return found


def _deepest(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if not error.context:
        return [error]
    deepest = max(len(reason.absolute_path) for reason in error.context)
    return [reason for reason in error.context if len(reason.absolute_path) == deepest]
