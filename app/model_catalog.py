"""The model catalog: every model a call may name, its context window and its price.

Built per app from what each installed provider declares (``Provider.models``), then the
operator's ``MODEL_CATALOG`` file, which adds models (an OpenRouter or vLLM model the
provider cannot know) or re-prices them. A model without a price cannot be metered, so a
call to it fails before it is sent (``MODEL_NOT_PRICED``).

The file is YAML::

    models:
      - name: openai:meta-llama/llama-3.1-8b-instruct
        context_window: 131072
        input_per_1k: 0.00005
        output_per_1k: 0.00008
        structured_output: json_object   # optional: how its server is asked for JSON
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .errors import ConfigError, ModelNotPricedError, UnknownModelError
from .provider import ModelInfo, Provider

_FIELDS = {"name", "context_window", "input_per_1k", "output_per_1k", "kind", "price_per_item", "description",
           "structured_output"}
#: The ways a server may be asked for JSON (app/providers/structured_output.py), and auto.
STRUCTURED_OUTPUT_FORMS = ("auto", "json_schema", "json_object", "format", "prompt")


def _price(raw: Any, where: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"{where}: {raw!r} is not a price") from None
    if value < 0 or not value.is_finite():
        raise ValueError(f"{where}: a price cannot be negative")
    return value


def _form(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if raw not in STRUCTURED_OUTPUT_FORMS:
        raise ValueError(f"{where}: structured_output must be one of {', '.join(STRUCTURED_OUTPUT_FORMS)}")
    return str(raw)


def parse_catalog(document: Any, source: str) -> list[ModelInfo]:
    """Read the models of a catalog document, collecting every problem before failing.

    :raises ConfigError: listing each bad entry with its position.
    """
    problems: list[str] = []
    models: list[ModelInfo] = []
    entries = (document or {}).get("models") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError([f"MODEL_CATALOG: {source} must hold a 'models' list"])
    for position, entry in enumerate(entries, start=1):
        where = f"MODEL_CATALOG: {source}, model {position}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        unknown = sorted(set(entry) - _FIELDS)
        name = str(entry.get("name") or "")
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(unknown)}")
        if ":" not in name:
            problems.append(f"{where}: name must read provider:model (got {name!r})")
            continue
        try:
            window = entry.get("context_window")
            models.append(ModelInfo(
                name=name, context_window=int(window) if window is not None else None,
                input_per_1k=_price(entry.get("input_per_1k"), where),
                output_per_1k=_price(entry.get("output_per_1k"), where), kind=str(entry.get("kind", "text")),
                price_per_item=_price(entry.get("price_per_item"), where),
                description=str(entry.get("description", "")),
                structured_output=_form(entry.get("structured_output"), where)))
        except (TypeError, ValueError) as exc:
            problems.append(str(exc) if str(exc).startswith(where) else f"{where}: {exc}")
    if problems:
        raise ConfigError(problems)
    return models


class ModelCatalog:
    """Models by ``provider:model`` name.

    :param providers: the installed provider classes by name.
    :param extra: models from configuration; they win over the providers' own entries.
    """

    def __init__(self, providers: Mapping[str, type[Provider]], extra: Iterable[ModelInfo] = ()) -> None:
        # The registry's own mapping, not a copy: a provider registered later (a test's) counts.
        self.providers = providers
        self.models: dict[str, ModelInfo] = {}
        for provider in self.providers.values():
            for model in provider.models:
                self.models[model.name] = model
        for model in extra:
            known = self.models.get(model.name)
            # A file entry that names only prices keeps what the provider said of the rest.
            self.models[model.name] = _merge(known, model) if known else model

    @classmethod
    def load(cls, providers: Mapping[str, type[Provider]], path: str) -> "ModelCatalog":
        """Build the catalog from the providers and the ``MODEL_CATALOG`` file (if any).

        :raises ConfigError: when the file cannot be read or holds bad entries.
        """
        if not path:
            return cls(providers)
        try:
            document = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError([f"MODEL_CATALOG: {path} cannot be read: {exc}"]) from None
        return cls(providers, parse_catalog(document, path))

    def split(self, name: str) -> tuple[type[Provider], str]:
        """The provider class and the provider's own model name for ``provider:model``.

        :raises UnknownModelError: when the name is malformed or no provider serves it.
        """
        provider_name, colon, model = (name or "").partition(":")
        if not colon or not provider_name or not model:
            raise UnknownModelError(f"Name the model as provider:model (got {name!r}).", {"model": name})
        provider = self.providers.get(provider_name)
        if provider is None:
            raise UnknownModelError(f"No model provider named {provider_name!r} is installed.",
                                    {"model": name, "provider": provider_name,
                                     "installed": sorted(self.providers)})
        return provider, model

    def info(self, name: str) -> ModelInfo:
        """The model's entry; a model its provider serves but nobody priced gets an unpriced one."""
        provider, _model = self.split(name)
        declared = next((model for model in provider.models if model.name == name), None)
        return self.models.get(name) or declared or ModelInfo(name=name)

    def priced(self, name: str) -> ModelInfo:
        """:raises ModelNotPricedError: when the model has no price to meter its calls with."""
        info = self.info(name)
        if not info.priced:
            raise ModelNotPricedError(
                f"Model {name} has no price in the model catalog; add it to the MODEL_CATALOG file "
                f"(input_per_1k and output_per_1k, 0 for a free local model).", {"model": name})
        return info

    def listing(self) -> list[ModelInfo]:
        return sorted(self.models.values(), key=lambda model: model.name)


def _merge(known: ModelInfo, override: ModelInfo) -> ModelInfo:
    changes = {field: getattr(override, field) for field in ("context_window", "input_per_1k", "output_per_1k",
                                                               "price_per_item", "structured_output")
               if getattr(override, field) is not None}
    if override.description:
        changes["description"] = override.description
    return replace(known, **changes)
