"""The catalog a form's model field offers: the installed providers' text models, each with
its price or its offline mark (issue 12), instead of a blank box to guess a name into.

The field stays a text box (a ``<datalist>`` of these): a model an operator's catalog adds
later, or a provider's model it does not list, can still be typed, and is checked like any.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..runtime import current_state


@dataclass(frozen=True)
class ModelChoice:
    name: str
    label: str


def text_model_choices() -> list[ModelChoice]:
    """Every priced text model of the catalog, by name, labelled with what it costs."""
    catalog = current_state().models
    choices = []
    for model in catalog.listing():
        if model.kind != "text" or not model.priced:
            continue
        provider = catalog.providers.get(model.name.partition(":")[0])
        choices.append(ModelChoice(model.name, _label(model.input_per_1k, model.output_per_1k,
                                                      offline=bool(provider and provider.offline))))
    return choices


def _label(input_per_1k: Decimal | None, output_per_1k: Decimal | None, *, offline: bool) -> str:
    if offline:
        return "offline: synthetic text, free"
    if not input_per_1k and not output_per_1k:
        return "free"
    return f"${input_per_1k:f} in / ${output_per_1k:f} out per 1K tokens"
