"""How an OpenAI-compatible server is asked for JSON: each spells it its own way.

* ``json_schema`` — OpenAI (and vLLM, OpenRouter): ``response_format: {type: json_schema,
  json_schema: {name, schema}}``;
* ``json_object`` — llama.cpp's and llama-cpp-python's servers, LM Studio:
  ``response_format: {type: json_object, schema}`` (llama-cpp-python answers ``json_schema``
  with HTTP 500 and a validation message);
* ``format`` — Ollama: ``format: <schema>``;
* ``prompt`` — any server at all: the schema is put in the system message and the answer
  checked here like every other (the caller validates every answer against the schema).

A call tries the form that last worked for its server and model (or the one configured),
and, when the server refuses the form itself, the next one. What worked is remembered per
base URL and model for the life of the process, so only a server's first structured call
pays for the discovery.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable, TypeVar

from app.toolkit import (
    CompletionRequest,
    ExternalServiceError,
    ProviderAuthError,
    ProviderRequestError,
    note_failed_try,
)

FORMS = ("json_schema", "json_object", "format", "prompt")
AUTO = "auto"

#: A server's refusal that is about how JSON was asked for (not the prompt, the key or a bug).
_ABOUT_THE_FORM = re.compile(r"response_format|json_schema|json_object|\bformat\b|schema|unsupported|"
                             r"not supported|unrecognized|extra (?:inputs|fields)", re.IGNORECASE)

T = TypeVar("T")


def apply_form(form: str, body: dict[str, Any], request: CompletionRequest) -> dict[str, Any]:
    """``body`` (the chat completion's) asking for ``request.json_schema`` the ``form`` way."""
    schema = request.json_schema
    if form == "json_schema":
        return {**body, "response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}}
    if form == "json_object":
        return {**body, "response_format": {"type": "json_object", "schema": schema}}
    if form == "format":
        return {**body, "format": schema}
    if form == "prompt":
        instruction = ("Answer with one JSON value and nothing else, matching this JSON schema: "
                       + json.dumps(schema, separators=(",", ":")))
        messages = [dict(m) for m in body["messages"]]
        if messages and messages[0].get("role") == "system":
            messages[0]["content"] = f"{messages[0]['content']}\n\n{instruction}"
        else:
            messages.insert(0, {"role": "system", "content": instruction})
        return {**body, "messages": messages}
    raise ValueError(f"not a structured output form: {form!r}")


def refuses_the_form(error: Exception) -> bool:
    """Whether ``error`` is a server refusing the way JSON was asked for, so another way may work:
    a refused request (4xx but the key's) or a deterministic 5xx, whose words name the form."""
    if isinstance(error, ProviderAuthError) or not isinstance(error, ExternalServiceError):
        return False
    details = getattr(error, "details", None) or {}
    status = details.get("status")
    if not isinstance(status, int) or status < 400:
        return False
    said = str(details.get("provider_message") or "")
    return isinstance(error, ProviderRequestError) and (status in (400, 404, 422) and not said
                                                        or bool(_ABOUT_THE_FORM.search(said)))


class FormMemory:
    """What worked, per (base URL, model), shared by the process's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._worked: dict[tuple[str, str], str] = {}

    def order(self, base_url: str, model: str, configured: str = AUTO) -> tuple[str, ...]:
        """The forms to try, in order: the configured one alone, or what worked first."""
        if configured != AUTO:
            return (configured,)
        with self._lock:
            known = self._worked.get((base_url, model))
        return (known, *(form for form in FORMS if form != known)) if known else FORMS

    def worked(self, base_url: str, model: str, form: str) -> None:
        with self._lock:
            self._worked[(base_url, model)] = form

    def forget(self) -> None:
        with self._lock:
            self._worked.clear()


MEMORY = FormMemory()


def ask_in_turn(forms: tuple[str, ...], attempt: Callable[[str], T], remember: Callable[[str], None]) -> T:
    """``attempt(form)`` for each form until one is not refused as a form; the refusal of the
    last form tried is raised, any other failure at once. Each refused form is a try of the
    call, noted for the usage log."""
    for index, form in enumerate(forms):
        started = time.perf_counter()
        try:
            result = attempt(form)
        except ExternalServiceError as error:
            if index == len(forms) - 1 or not refuses_the_form(error):
                raise
            note_failed_try(error, started)
            continue
        remember(form)
        return result
    raise AssertionError("unreachable: no forms to try")  # pragma: no cover
