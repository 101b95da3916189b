"""A tenant's API keys: list, create (the secret is shown once), read, revoke."""

from __future__ import annotations

from ..auth.api_keys import ApiKeyService
from ..auth.principal import current_principal
from ..schemas.api_keys import ApiKeyCreateSchema, ApiKeySchema, IssuedApiKeySchema
from ..runtime import repositories
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("api_keys", __name__, url_prefix="/api/api-keys", description="Tenant API keys")


def api_key_service() -> ApiKeyService:
    return ApiKeyService(repositories(), current_principal())


@blp.route("")
@blp.response(200, ApiKeySchema(many=True))
def list_keys():
    """Every key of the tenant, newest first; lapsed keys show as expired."""
    return api_key_service().list()


@blp.route("", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema)
@blp.response(201, IssuedApiKeySchema)
def create_key(body: dict):
    """Create a key. Its secret is in this response only; it is stored hashed."""
    issued = api_key_service().create(body["name"], body.get("role"), body.get("expires_in_days"))
    key = issued.key
    return {name: getattr(key, name) for name in ApiKeySchema().fields} | {"secret": issued.secret}


@blp.route("/<key_id>")
@blp.response(200, ApiKeySchema)
def get_key(key_id: str):
    return api_key_service().get(key_id)


@blp.route("/<key_id>", methods=["DELETE"])
@blp.response(200, ApiKeySchema)
def revoke_key(key_id: str):
    """Revoke a key; requests carrying it are refused from now on."""
    return api_key_service().revoke(key_id)
