"""Which provider serves a model, with which key, and who pays for the call.

A key is looked for in this order: the run's user's own key for the provider, the tenant's
own key (both BYOK: no platform credits drawn), then the platform's key from configuration
(``<PROVIDER>_API_KEY``: the user's credits pay). A provider that needs no key (offline)
draws nothing either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from ..models import KeySource, Membership, Role
from ..provider import ModelInfo, Provider, ProviderCredentials
from ..repositories import Repositories

if TYPE_CHECKING:
    from ..runtime import InkwrightState

#: Core settings every provider receives, under these names, beside its own.
_CORE_PROVIDER_SETTINGS = {"timeout": "PROVIDER_TIMEOUT", "max_retries": "PROVIDER_MAX_RETRIES",
                           "max_backoff": "PROVIDER_MAX_BACKOFF", "call_seconds": "PROVIDER_CALL_SECONDS"}


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to call: the provider built with its credentials, and the catalog entry."""

    name: str
    provider_name: str
    model: str
    provider: Provider
    info: ModelInfo
    key_source: KeySource
    key_id: uuid.UUID | None = None

    @property
    def draws_credits(self) -> bool:
        return self.key_source == KeySource.PLATFORM


def provider_config(provider_class: type[Provider], config: Any = None) -> dict[str, Any]:
    """The values of a provider's own settings, without their prefix, plus the core's."""
    config = current_app.config if config is None else config
    prefix = provider_class.name.upper().replace("-", "_") + "_"
    values = {name: config[key] for name, key in _CORE_PROVIDER_SETTINGS.items()}
    for setting in provider_class.settings:
        values[setting.key[len(prefix):].lower()] = config.get(setting.key, setting.default)
    return values


def billing_user_id(repos: Repositories, run: Any) -> uuid.UUID | None:
    """Who pays for a run's calls: the person who started it, else the tenant's first owner
    (a run started from the command line or a tenant-wide automation)."""
    if run is not None and run.created_by_user_id:
        return run.created_by_user_id
    owners = repos.memberships.list(Membership.role == Role.OWNER, order_by=[Membership.created_at], limit=1)
    return owners[0].user_id if owners else None


def resolve_model(state: "InkwrightState", repos: Repositories, run: Any, model_name: str, *,
                  payer: Any = ...) -> ResolvedModel:
    """Find the provider, price and key for ``provider:model``.

    :param run: the run making the call, or ``None`` for a one-off call in ``repos``' tenant.
    :param payer: the user whose own keys come first; by default the run's payer.

    :raises UnknownModelError: when no installed provider serves the model.
    :raises ModelNotPricedError: when the catalog has no price for it.
    """
    provider_class, model = state.models.split(model_name)
    info = state.models.priced(model_name)
    values = provider_config(provider_class)
    if info.structured_output is not None:
        # The catalog knows how this model's server takes JSON better than the provider's default.
        values = {**values, "structured_output": info.structured_output}
    if not provider_class.requires_key:
        credentials, source, key_id = ProviderCredentials(base_url=values.get("base_url")), KeySource.LOCAL, None
    else:
        user_id = billing_user_id(repos, run) if payer is ... else payer
        key = repos.provider_keys.usable_key(provider_class.name, user_id, repos.tenant_id)
        if key is not None:
            credentials = ProviderCredentials(api_key=state.secrets.decrypt(key.encrypted_key),
                                              base_url=values.get("base_url"), byok=True)
            source, key_id = KeySource.BYOK, key.id
        elif values.get("api_key"):
            credentials = ProviderCredentials(api_key=values.get("api_key"), base_url=values.get("base_url"))
            source, key_id = KeySource.PLATFORM, None
        else:
            # No key of the platform's: the operator's own keyless server (llama.cpp, Ollama,
            # vLLM on its machines). Nobody's paid key is spent, so no credits are drawn.
            credentials = ProviderCredentials(base_url=values.get("base_url"))
            source, key_id = KeySource.LOCAL, None
    return ResolvedModel(name=model_name, provider_name=provider_class.name, model=model,
                         provider=provider_class(values, credentials), info=info, key_source=source, key_id=key_id)
