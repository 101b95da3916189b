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
