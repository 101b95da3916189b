"""A browser form generated from a workflow's declared inputs (``inputs:`` in its YAML).

Each declared type gets the control a person expects (text → textarea, integer → number
input with its bounds, enum → select, list → one item per line). The form only turns
what was typed into values; the rules themselves (required, bounds, lengths, choices) are
the engine's :func:`app.workflows.inputs.resolve_inputs`, so the browser and the JSON API
refuse exactly the same inputs, and its ``inputs.<name>`` errors land beside their fields.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ..errors import ValidationError
from ..workflows.definition import InputSpec, WorkflowDefinition
from ..workflows.inputs import resolve_inputs

FIELD_PREFIX = "input_"
NO_CHOICE = ""


class WholeNumberField(IntegerField):
    """An integer box whose complaint says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a whole number.") from None


class NumberField(FloatField):
    """A number box (decimals allowed) whose complaint says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a number.") from None


def field_name(spec: InputSpec) -> str:
    """The form attribute of an input; prefixed so no input name can shadow a form's own."""
    return f"{FIELD_PREFIX}{spec.name}"


def _label(spec: InputSpec) -> str:
    return spec.name.replace("_", " ").capitalize()


def _describe(spec: InputSpec) -> str:
    notes = [spec.description.strip()] if spec.description else []
    if spec.type == "list":
        notes.append("One item per line.")
    if spec.type in ("integer", "number") and (spec.minimum is not None or spec.maximum is not None):
        low = f"{spec.minimum:g}" if spec.minimum is not None else "…"
        high = f"{spec.maximum:g}" if spec.maximum is not None else "…"
        notes.append(f"From {low} to {high}.")
    return " ".join(notes)


def _as_text(spec: InputSpec, value: Any) -> Any:
    """A value of the input as its control shows it."""
    if value is None:
        return None
    if spec.type == "list":
        return "\n".join(str(item) for item in value)
    if spec.type == "enum":
        return str(spec.choices.index(value)) if value in spec.choices else NO_CHOICE
    return value


def make_field(spec: InputSpec, value: Any = None) -> Field:
    """The unbound WTForms field for one declared input, showing ``value`` (or its default)."""
    shown = _as_text(spec, value if value is not None else (spec.default if spec.has_default else None))
    kw: dict[str, Any] = {"description": _describe(spec), "default": shown}
    render: dict[str, Any] = {}
    if spec.required and not spec.has_default and spec.type != "boolean":
        render["required"] = True
    if spec.type in ("string", "text") and spec.max_length is not None:
        render["maxlength"] = spec.max_length
    if spec.type in ("integer", "number"):
        for bound, key in ((spec.minimum, "min"), (spec.maximum, "max")):
            if bound is not None:
                render[key] = f"{bound:g}"
        field_class = WholeNumberField if spec.type == "integer" else NumberField
        # Optional(): an empty box means "not given", so the default (or "required") applies.
        return field_class(_label(spec), validators=[Optional()], render_kw=render, **kw)
    if spec.type == "boolean":
        return BooleanField(_label(spec), **kw)
    if spec.type == "enum":
        choices = [SelectChoice(value=str(index), label=str(choice)) for index, choice in enumerate(spec.choices)]
        if shown is None or not spec.required:
            choices.insert(0, SelectChoice(value=NO_CHOICE, label="— choose —" if spec.required else "— none —"))
        return SelectField(_label(spec), choices=choices, render_kw=render, **kw)
    if spec.type in ("text", "list"):
        render.setdefault("rows", 6 if spec.type == "text" else 4)
        return TextAreaField(_label(spec), render_kw=render, **kw)
    return StringField(_label(spec), render_kw=render, **kw)


class InputsForm(FlaskForm):
    """The base of every generated form; subclasses carry one field per declared input."""

    specs: tuple[InputSpec, ...] = ()

    def input_fields(self) -> list[Field]:
        return [self[field_name(spec)] for spec in self.specs]

    def values(self) -> dict[str, Any]:
        """What was typed, as the engine's inputs: an empty box is "not given"."""
        values: dict[str, Any] = {}
        for spec in self.specs:
            field = self[field_name(spec)]
            if field.errors:  # it did not parse; the error is beside it already
                continue
            value = _as_value(spec, field.data)
            if value is not None:
                values[spec.name] = value
        return values

    def place_errors(self, error: ValidationError) -> list[str]:
        """Put the engine's ``inputs.<name>`` errors beside their fields.

        :returns: the messages no field of this form owns (for above the form).
        """
        fields = error.details.get("fields", {}) if isinstance(error.details, dict) else {}
        stray: list[str] = []
        for key, messages in fields.items():
            messages = messages if isinstance(messages, list) else [str(messages)]
            name = key.split(".", 1)[1] if key.startswith("inputs.") else key
            target = getattr(self, f"{FIELD_PREFIX}{name}", None)
            if target is not None and target.errors:
                continue  # it did not parse; "missing" would only repeat that
            if target is None:
                stray += [f"{name}: {message}" for message in messages]
            else:
                target.errors = [*target.errors, *messages]
        return stray if fields else [error.message]

    def check(self) -> dict[str, Any] | None:
        """Validate the post: parse each field, then apply the engine's rules to the values.

        :returns: the inputs as given (defaults not filled in), or ``None`` when something is
            wrong (each error beside its field; the rest in ``form_errors``).
        """
        parsed = self.validate()
        values = self.values()
        try:
            resolve_inputs(WorkflowDefinition(name="form", version="0", inputs=self.specs), values)
        except ValidationError as error:
            self.form_errors.extend(self.place_errors(error))
            return None
        return values if parsed else None


def _as_value(spec: InputSpec, data: Any) -> Any:
    """A control's data as the input's value; ``None`` for "not given"."""
    if spec.type == "boolean":
        return bool(data)
    if spec.type == "enum":
        if data in (None, NO_CHOICE):
            return None
        try:
            return spec.choices[int(data)]
        except (ValueError, IndexError):
            return None
    if spec.type == "list":
        items = [line.strip() for line in (data or "").splitlines() if line.strip()]
        return items or None
    if spec.type in ("string", "text"):
        text = (data or "").replace("\r\n", "\n")
        return text if text.strip() else None
    return data


def inputs_form_class(specs: Iterable[InputSpec], values: Mapping[str, Any] | None = None,
                      base: type[InputsForm] = InputsForm) -> type[InputsForm]:
    """A form class with one field per declared input, showing ``values`` (else defaults)."""
    specs = tuple(specs)
    values = values or {}
    attrs: dict[str, Any] = {"specs": specs}
    for spec in specs:
        attrs[field_name(spec)] = make_field(spec, values.get(spec.name))
    return type("GeneratedInputsForm", (base,), attrs)
