"""What a form's POST hands to the page its redirect leads to, once.

Every form answers with a redirect, so a reload repeats nothing (POST/redirect/GET). Some
things must survive that one redirect and no more: the secret of a new API key, shown once;
a refused form's text and errors, shown beside its fields. Neither fits Flask's session cookie
(signed but readable, and 4 KB: a 20,000-character feedback is what was refused). So it waits
in Redis for at most :data:`KEPT_SECONDS` under a random name, the session holds only that
name, and the page that shows it takes it out with ``GETDEL``: a second look finds nothing.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Callable, TypeVar

import redis
from flask import session
from flask_wtf import FlaskForm

from ..runtime import current_state

#: How long a handed-over value waits for the page that shows it.
KEPT_SECONDS = 300

_PREFIX = "inkwright:handoff:"


def keep(kind: str, shown: dict[str, Any]) -> None:
    """Hold ``shown`` (what the next page of this browser shows once) under ``kind``."""
    name = secrets.token_urlsafe(24)
    current_state().redis.client().set(_PREFIX + name, json.dumps(shown, default=str), ex=KEPT_SECONDS)
    session[f"handoff_{kind}"] = name


def take(kind: str) -> dict[str, Any] | None:
    """What was kept under ``kind`` for this browser, once; ``None`` after that, or if Redis
    lost it (the page is then shown as if nothing was handed over)."""
    name = session.pop(f"handoff_{kind}", None)
    if not isinstance(name, str):
        return None
    try:
        kept = current_state().redis.client().getdel(_PREFIX + name)
    except redis.RedisError:
        return None
    return json.loads(kept) if kept else None


#: Fields a refused form is not rebuilt with: the page makes a fresh token, the button is a button.
_NOT_KEPT = ("csrf_token", "submit")

FormT = TypeVar("FormT", bound=FlaskForm)


def keep_refused(kind: str, form: FlaskForm) -> None:
    """Hold a form that failed validation — what was typed, and why it was refused — for the
    page the redirect leads to (:func:`refused`)."""
    fields = {name: field for name, field in form._fields.items() if name not in _NOT_KEPT}
    keep(kind, {"data": {name: field.data for name, field in fields.items()},
                "errors": {name: list(field.errors) for name, field in fields.items() if field.errors},
                "form_errors": [str(error) for error in form.form_errors]})


def refused(kind: str, build: Callable[..., FormT]) -> FormT | None:
    """The form :func:`keep_refused` held, rebuilt with its text and its errors, once.

    :param build: the form's class, or a function that makes the form as the page would
        (a form whose fields depend on the run) from ``formdata`` and ``data``.
    """
    kept = take(kind)
    if kept is None:
        return None
    form = build(formdata=None, data=kept.get("data") or {})
    for name, errors in (kept.get("errors") or {}).items():
        if name in form._fields:
            form[name].errors = [str(error) for error in errors]
    form.form_errors.extend(kept.get("form_errors") or [])
    return form
