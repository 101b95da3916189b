"""Every model a run could use, resolved before the run is started (issue 9).

A workflow or article naming ``foo:bar`` used to be accepted and fail at its first step with
the provider layer's error. Now the run is refused at submit, with the request field that
names the model, so the form that started it can show the problem beside that field and
nothing is written.

A run could use:

- the workflow's ``defaults.model``, each step's ``model`` and ``models`` (candidate lists),
  and the ``DEFAULT_MODEL`` setting for a step that names none of them;
- model names written literally in a step's ``with.model`` / ``with.models``;
- the value of every input that names a model: one a step passes whole as its
  ``with.model`` or in ``with.models`` (``"{{ inputs.draft_model }}"``), and by convention
  one named ``model`` or ending in ``_model`` / ``_models`` (WriteIt's per-step preferences).

Which of them is refused is the model catalog's rule, the same one a call meets: an
unknown provider (or a name that is not ``provider:model``) is ``UNKNOWN_MODEL``; a model
with no price — ``None``, not 0, which is the offline provider's price — is
``MODEL_NOT_PRICED``. Nothing here does I/O besides reading the catalog held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from flask import current_app

from ..errors import (
    ModelNotPricedError,
    RunModelNotPricedError,
    RunModelRefusedError,
    RunModelUnknownError,
    UnknownModelError,
)
from ..workflows.definition import WorkflowDefinition
from ..workflows.templates import single_expression

if TYPE_CHECKING:
    from ..model_catalog import ModelCatalog
    from ..runtime import InkwrightState

#: The request field a model written into the workflow itself is reported under: the
#: submitter cannot change it, only pick (or fix) the workflow.
WORKFLOW_FIELD = "workflow"


@dataclass(frozen=True)
class ModelUse:
    """One model a run could use, and where it comes from.

    :param model: the ``provider:model`` name as written.
    :param field: the request field that names it (``inputs.draft_model``, ``workflow``, ``model``).
    :param source: where a person finds it, for the message (``step draft``, ``input draft_model``).
    """

    model: str
    field: str
    source: str


def names_a_model(input_name: str) -> bool:
    """Whether an input is, by its name, a model (``model``, ``draft_model``, ``review_models``)."""
    return input_name in ("model", "models") or input_name.endswith(("_model", "_models"))


def _model_slots(step: Any) -> Iterator[Any]:
    """The values a step's skill reads as model names: ``with.model`` and each of ``with.models``."""
    for key in ("model", "models"):
        value = step.with_.get(key)
        if isinstance(value, (list, tuple)):
            yield from value
        elif value is not None:
            yield value


def _input_read_whole(template: Any) -> str | None:
    """The input a template is exactly (``"{{ inputs.draft_model }}"`` → ``draft_model``)."""
    if not isinstance(template, str):
        return None
    expression = single_expression(template)
    if expression and expression.startswith("inputs.") and expression[len("inputs."):].isidentifier():
        return expression[len("inputs."):]
    return None


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


def models_of_run(definition: WorkflowDefinition, inputs: Mapping[str, Any] | None,
                  default_model: str | None = None) -> list[ModelUse]:
    """Every model a run of ``definition`` with ``inputs`` could use, each once (first source wins).

    :param inputs: the inputs as given; declared defaults fill what is missing.
    :param default_model: the ``DEFAULT_MODEL`` setting, for steps that name no model.
    """
    given = dict(inputs or {})
    uses: dict[tuple[str, str], ModelUse] = {}

    def note(model: str, field: str, source: str) -> None:
        uses.setdefault((model, field), ModelUse(model, field, source))

    workflow_default = definition.defaults.get("model")
    for model in _values(workflow_default):
        note(model, WORKFLOW_FIELD, "the workflow's defaults.model")
    model_inputs = {spec.name for spec in definition.inputs if names_a_model(spec.name)}
    for step in definition.steps:
        for model in _values(step.model):
            note(model, WORKFLOW_FIELD, f"step {step.id}")
        for model in step.models:
            note(model, WORKFLOW_FIELD, f"step {step.id}")
        if not (step.model or step.models or workflow_default) and default_model:
            note(default_model, WORKFLOW_FIELD, "the DEFAULT_MODEL setting")
        for slot in _model_slots(step):
            name = _input_read_whole(slot)
            if name is not None:
                model_inputs.add(name)
            elif isinstance(slot, str) and "{" not in slot:
                for model in _values(slot):
                    note(model, WORKFLOW_FIELD, f"step {step.id}")
    for spec in definition.inputs:
        if spec.name not in model_inputs:
            continue
        value = given.get(spec.name)
        if value is None and spec.has_default:
            value = spec.default
        for model in _values(value):
            note(model, f"inputs.{spec.name}", f"input {spec.name}")
    return list(uses.values())


def refusal(catalog: "ModelCatalog", use: ModelUse) -> RunModelRefusedError | None:
    """Why the run may not use this model (the message names the model and where it comes
    from), or ``None`` when it may."""
    try:
        catalog.priced(use.model)
    except UnknownModelError as error:
        return RunModelUnknownError(f"{use.model} ({use.source}): {error.message}")
    except ModelNotPricedError as error:
        return RunModelNotPricedError(f"{use.model} ({use.source}): {error.message}")
    return None


def _beside_field(use: ModelUse, problem: RunModelRefusedError) -> str:
    """The message shown beside the field: an input's field needs no "(input x)" to say where."""
    if use.field == WORKFLOW_FIELD:
        return problem.message
    return f"{use.model}: {problem.message.split('): ', 1)[1]}"


def check_models(catalog: "ModelCatalog", uses: Iterable[ModelUse]) -> None:
    """Refuse the lot if any model cannot be used, naming every bad field at once.

    :raises RunModelUnknownError: when a provider or model is unknown (it wins over an unpriced one).
    :raises RunModelNotPricedError: when a model has no price.
    """
    refused = [(use, problem) for use in uses if (problem := refusal(catalog, use)) is not None]
    if not refused:
        return
    fields: dict[str, list[str]] = {}
    for use, problem in refused:
        fields.setdefault(use.field, []).append(_beside_field(use, problem))
    unknown = any(isinstance(problem, RunModelUnknownError) for _, problem in refused)
    error_class = RunModelUnknownError if unknown else RunModelNotPricedError
    leading = next(problem for _, problem in refused if isinstance(problem, error_class))
    more = f" ({len(refused) - 1} more in error.details.fields)" if len(refused) > 1 else ""
    raise error_class(f"The run cannot use {leading.message}{more}", {"fields": fields,
                                "models": [{"model": use.model, "field": use.field, "code": problem.code}
                                           for use, problem in refused]})


def check_run_models(catalog: "ModelCatalog", definition: WorkflowDefinition, inputs: Mapping[str, Any] | None,
                     default_model: str | None = None) -> None:
    """Refuse a run that could use a model the catalog cannot serve or price (see the module).

    :raises RunModelRefusedError: ``UNKNOWN_MODEL`` or ``MODEL_NOT_PRICED``, with ``details.fields``.
    """
    check_models(catalog, models_of_run(definition, inputs, default_model))


def require_usable_models(state: "InkwrightState", definition: WorkflowDefinition,
                          inputs: Mapping[str, Any] | None) -> None:
    """:func:`check_run_models` with the app's catalog and ``DEFAULT_MODEL`` as the executor reads it."""
    if state.models is None:  # an app built without providers runs no model steps either
        return
    check_run_models(state.models, definition, inputs, current_app.config.get("DEFAULT_MODEL"))


__all__ = ["ModelUse", "check_models", "check_run_models", "models_of_run", "names_a_model", "refusal",
           "require_usable_models"]
