"""Putting service errors where a person filling a form will see them."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from ..errors import AppError


def show_error(form: FlaskForm, error: AppError) -> None:
    """Attach field errors beside their fields; anything else goes above the form."""
    fields = error.details.get("fields", {}) if isinstance(error.details, dict) else {}
    placed = False
    for name, messages in fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *(messages if isinstance(messages, list) else [messages])]
            placed = True
    if not placed:
        flash(error.message, "error")
