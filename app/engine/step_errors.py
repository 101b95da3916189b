"""The one shape of a step's or a run's error: the API envelope's ``{code, message, details}``.

What a person sees of a failure is its stable code and a message they can act on — never
an exception's class name or a traceback (those go to the worker's log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: Codes of failures the engine itself names (a skill's own error brings its ``code``).
SKILL_ERROR = "SKILL_ERROR"
STEP_TIMEOUT = "STEP_TIMEOUT"
TEMPLATE_ERROR = "TEMPLATE_ERROR"


def step_error(code: str, message: str, now: datetime, *, attempt: int | None = None,
               **details: Any) -> dict[str, Any]:
    """An error as steps, attempts and runs record it."""
    error: dict[str, Any] = {"code": code, "message": message, "timestamp": now.isoformat(), "details": details}
    if attempt is not None:
        error["attempt"] = attempt
    return error


def error_of_exception(exc: BaseException) -> tuple[str, str]:
    """The code and message a person is shown for a skill's exception.

    An :class:`app.errors.AppError` (and any exception with a ``code``) keeps its own code
    and message; a time-out says so; anything else is a ``SKILL_ERROR`` with the
    exception's own words, or a plain sentence when it has none.
    """
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc).strip()
    if not isinstance(code, str) or not code:
        code = STEP_TIMEOUT if "Timeout" in type(exc).__name__ else SKILL_ERROR
    if not message:
        message = "The step took longer than its time-out." if code == STEP_TIMEOUT else \
            "The skill failed without saying why."
    return code, message[:2000]


#: How much of an error's details a step keeps (a model's bad output is cut to an excerpt).
MAX_DETAIL_TEXT = 500


def details_of_exception(exc: BaseException) -> dict[str, Any]:
    """What an :class:`app.errors.AppError` says besides its message — ``MODEL_OUTPUT_INVALID``'s
    schema path and an excerpt of the output, a provider's status — bounded, so a person sees
    it on the step (it once was only on the AI response). Other exceptions say nothing more."""
    details = getattr(exc, "details", None)
    if not isinstance(details, dict) or not isinstance(getattr(exc, "code", None), str):
        return {}
    kept: dict[str, Any] = {}
    for key, value in list(details.items())[:20]:
        if key in ("code", "message", "now", "attempt"):
            continue  # the step's error says those itself
        if isinstance(value, str):
            kept[str(key)] = value[:MAX_DETAIL_TEXT]
        elif isinstance(value, (int, float, bool)) or value is None:
            kept[str(key)] = value
    return kept
