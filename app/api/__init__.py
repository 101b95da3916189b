"""The JSON API: flask-smorest, one ``Api`` per app, every response in the envelope."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, send_from_directory
from flask_smorest import Api
from marshmallow import fields

from ..runtime import current_state
from ..schemas.base import WHITESPACE, ErrorEnvelopeSchema, Money
from ..version import __version__
from . import (
    account,
    agent_runs,
    api_keys,
    artifacts,
    audit_log,
    auth,
    completions,
    events,
    exports,
    feature_flags,
    models,
    notifications,
    runs,
    system,
    tenants,
    webhooks,
    workflows,
)
from .authentication import authenticate_api_request
from .blueprint import EnvelopeBlueprint, public

__all__ = ["EnvelopeBlueprint", "InkwrightApi", "build_api", "public"]

SWAGGER_ASSETS = "/api/docs/assets/"


#: What a dict's key field may say about the keys, as JSON schema's ``propertyNames``.
KEY_RULES = ("pattern", "minLength", "maxLength", "enum")


def document_dict_rules(converter, field, ret, **_kwargs) -> dict:
    """A ``fields.Dict``'s rules: its size as ``min/maxProperties`` (apispec writes a Length on
    a dict as ``maxLength``, which says nothing about an object) and its key field's rules as
    ``propertyNames``, so the document refuses the keys the schema refuses (issue 11)."""
    if not isinstance(field, fields.Dict):
        return {}
    rules = {}
    for length, size in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
        if length in ret:
            rules[size] = ret.pop(length)
    if field.key_field is not None:
        names = {k: v for k, v in converter.field2property(field.key_field).items() if k in KEY_RULES}
        if "pattern" not in names and ("minLength" in names or "maxLength" in names):
            # The lengths again as a pattern: generators that honour a key's pattern but not its
            # lengths (schemathesis 4 sent "" as a key) then make only keys the server accepts.
            names["pattern"] = f"^[\\s\\S]{{{names.get('minLength', 0)},{names.get('maxLength', '')}}}$"
        if names:
            rules["propertyNames"] = names
            # The same rules in the words every generator reads (schemathesis 4 ignores
            # propertyNames): the keys an enum names as properties, a pattern's keys as
            # patternProperties, and no other key.
            values = ret.get("additionalProperties", {})
            if "enum" in names:
                rules["properties"] = {key: values for key in names["enum"]}
            else:
                rules["patternProperties"] = {names["pattern"]: values}
            rules["additionalProperties"] = False
    return rules


def ecma_pattern(_converter, _field, ret, **_kwargs) -> dict:
    """End-of-string as JSON schema writes it: a pattern is an ECMA 262 regex there, where
    Python's ``\\Z`` is no anchor (a fuzzer read the step-name rule as no rule at all)."""
    pattern = ret.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("\\Z"):
        ret["pattern"] = pattern[:-2] + "$"
    return {}


class DocumentedRules(MarshmallowPlugin):
    """The marshmallow plugin, adding what a schema declares in ``openapi`` (see ApiSchema)
    and what a dict's fields declare about its keys and size."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.converter.add_attribute_function(ecma_pattern)
        self.converter.add_attribute_function(document_dict_rules)

    def schema_helper(self, name, definition, schema=None, **kwargs):
        document = super().schema_helper(name, definition, schema=schema, **kwargs)
        extra = getattr(resolve_schema_cls(schema), "openapi", None) if schema is not None else None
        if document is not None and extra:
            document.update(extra)
        return document


class InkwrightApi(Api):
    """flask-smorest's Api, leaving error rendering to :mod:`app.envelope` alone."""

    # Document error responses as what app.envelope sends, not flask-smorest's own shape.
    ERROR_SCHEMA = ErrorEnvelopeSchema

    def _register_error_handlers(self) -> None:
        """Errors are rendered in one place, the envelope; register nothing here."""


def _openapi_settings(app: Flask) -> None:
    app.config.update(
        API_TITLE="Inkwright", API_VERSION=__version__, OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL=SWAGGER_ASSETS,
        API_SPEC_OPTIONS={
            "info": {"description": "Every response is an envelope {success, data, error, metadata}. "
                                    "Authenticate with `Authorization: Bearer <access token or API key>`."},
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )


#: Swagger UI 5 (it reads OpenAPI 3.1), from the swagger-ui-py package, so the docs work offline.
SWAGGER_UI_FILES = Path(swagger_ui.__file__).parent / "static"


def _swagger_asset(filename: str):
    return send_from_directory(SWAGGER_UI_FILES, filename, max_age=3600)


#: What the password policy refuses besides its length: spaces at either end (AuthService).
PASSWORD_PATTERN = rf"^[^{WHITESPACE}][\s\S]*[^{WHITESPACE}]$"


def _document_configured_rules(app: Flask, api: InkwrightApi) -> None:
    """Write the rules this app's configuration decides into its document: the password
    policy's PASSWORD_MIN_LENGTH, and the installed providers that take a key (issue 11: a
    short password or an unknown provider passed the document and was refused)."""
    schemas = api.spec.components.schemas
    for name in ("RegisterRequest", "PasswordResetConfirm"):
        schemas[name]["properties"]["password"].update(
            minLength=app.config["PASSWORD_MIN_LENGTH"], pattern=PASSWORD_PATTERN)
    providers = current_state(app).registry.providers
    keyed = sorted(name for name, provider in providers.items() if getattr(provider, "requires_key", True))
    schemas["ProviderKeyCreate"]["properties"]["provider"]["enum"] = keyed


def build_api(app: Flask) -> InkwrightApi:
    """Create this app's Api and register the core's JSON blueprints and probes."""
    _openapi_settings(app)
    api = InkwrightApi(app, spec_kwargs={"marshmallow_plugin": DocumentedRules()})
    api.register_field(Money, "string", "decimal")
    for module in (auth, tenants, api_keys, events, workflows, runs, artifacts, models, completions, system,
                   notifications, feature_flags):
        api.register_blueprint(module.blp)
    api.register_blueprint(account.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(account.tenant_blp)
    api.register_blueprint(audit_log.blp)
    api.register_blueprint(agent_runs.agents_blp)
    api.register_blueprint(agent_runs.blp)
    api.register_blueprint(exports.blp)
    _document_configured_rules(app, api)
    app.register_blueprint(system.probes)
    app.add_url_rule(SWAGGER_ASSETS + "<path:filename>", "swagger_asset", public(_swagger_asset))
    app.before_request(authenticate_api_request)
    return api
