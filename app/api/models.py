"""The model catalog over JSON: what a workflow or a preference may name, and its price."""

from __future__ import annotations

from dataclasses import asdict

from flask import current_app

from ..auth.principal import current_principal
from ..schemas.models import ModelListSchema
from ..runtime import current_state
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("models", __name__, url_prefix="/api/models",
                        description="Models the installed providers serve, with prices")


@blp.route("")
@blp.response(200, ModelListSchema)
def list_models():
    """Every catalogued model: its provider, context window and price per 1,000 tokens."""
    current_principal()  # signed in: prices are not public
    catalog = current_state().models
    models = []
    for model in catalog.listing():
        name = model.name.partition(":")[0]
        provider = catalog.providers.get(name)
        models.append({**asdict(model), "provider": name, "priced": model.priced,
                       "offline": bool(provider and provider.offline),
                       "requires_key": bool(provider and provider.requires_key)})
    return {"models": models, "default_model": current_app.config["DEFAULT_MODEL"]}
