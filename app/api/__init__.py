"""The JSON API: flask-smorest, one ``Api`` per app, every response in the envelope."""

from __future__ import annotations

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from ..schemas.base import EnvelopeSchema
from ..version import __version__
from . import account, api_keys, artifacts, auth, completions, events, models, runs, system, tenants, workflows
from .authentication import authenticate_api_request
from .blueprint import EnvelopeBlueprint, public

__all__ = ["EnvelopeBlueprint", "InkwrightApi", "build_api", "public"]

SWAGGER_ASSETS = "/api/docs/assets/"


class InkwrightApi(Api):
    """flask-smorest's Api, leaving error rendering to :mod:`app.envelope` alone."""

    # Document error responses as what app.envelope sends, not flask-smorest's own shape.
    ERROR_SCHEMA = EnvelopeSchema

    def _register_error_handlers(self) -> None:
        """Errors are rendered in one place, the envelope; register nothing here."""


def _openapi_settings(app: Flask) -> None:
    app.config.update(
        API_TITLE="Inkwright", API_VERSION=__version__, OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL=SWAGGER_ASSETS,
        API_SPEC_OPTIONS={
            "info": {"description": "Every response is an envelope {success, data, error, metadata}. "
                                    "Authenticate with `Authorization: Bearer <access token or API key>`."},
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )


def _swagger_asset(filename: str):
    # Swagger UI is served from the swagger-ui-bundle package, so the docs work offline.
    return send_from_directory(swagger_ui_path, filename, max_age=3600)


def build_api(app: Flask) -> InkwrightApi:
    """Create this app's Api and register the core's JSON blueprints and probes."""
    _openapi_settings(app)
    api = InkwrightApi(app)
    for module in (auth, tenants, api_keys, events, workflows, runs, artifacts, models, completions, system):
        api.register_blueprint(module.blp)
    api.register_blueprint(account.blp)
    api.register_blueprint(account.tenant_blp)
    app.register_blueprint(system.probes)
    app.add_url_rule(SWAGGER_ASSETS + "<path:filename>", "swagger_asset", public(_swagger_asset))
    app.before_request(authenticate_api_request)
    return api
