"""The signed-in person's account: credits, usage history, preferences, provider keys."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from ..models import ProviderKeyStatus, SubscriptionPeriod, SubscriptionStatus, SubscriptionTier, UsageStatus
from ..models.usage_log import KeySource, UsageSource
from .base import MODEL_NAME_PATTERN, ApiSchema, JsonInteger, Money, PageQuerySchema, StrictBoolean

MODEL_NAME = re.compile(MODEL_NAME_PATTERN)
STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")
PROVIDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}\Z")
# Visible ASCII only: every provider's keys are, and a space or newline pasted along with
# a key is the commonest mistake; the message never repeats what was sent. ``\Z``, not ``$``,
# which would let a trailing newline through.
PROVIDER_KEY = re.compile(r"^[\x21-\x7e]{8,500}\Z")

THEMES = ("default", "light", "dark")
EXPORT_FORMATS = ("yaml", "markdown", "json")


# Credits ---------------------------------------------------------------------------------------
class CreditsSchema(ApiSchema):
    tier = fields.Enum(SubscriptionTier, by_value=True, required=True)
    status = fields.Enum(SubscriptionStatus, by_value=True, required=True)
    period = fields.Enum(SubscriptionPeriod, by_value=True, required=True)
    period_start = fields.DateTime(required=True)
    period_end = fields.DateTime(required=True, metadata={"description": "Usage resets to 0 at this moment"})
    limit = fields.Integer(allow_none=True, metadata={"description": "Tokens per period; null is unlimited"})
    used_this_period = fields.Integer(required=True)
    reserved = fields.Integer(required=True, metadata={"description": "Held by model calls in flight"})
    bonus = fields.Integer(required=True, metadata={"description": "Promotion tokens, spent after the allowance"})
    remaining = fields.Integer(allow_none=True, metadata={"description": "Tokens you can still spend; "
                                                                         "null is unlimited"})
    total_used = fields.Integer(required=True, metadata={"description": "Every token ever used"})


# Usage -----------------------------------------------------------------------------------------
class Moment(fields.String):
    """An ISO 8601 date (``2026-11-01``) or date-time; a time without a zone is UTC.

    Loads a :class:`datetime.date` for a plain date, so the caller can tell a day from a
    moment. A string on the wire (and in the OpenAPI document).
    """

    default_error_messages = {"invalid": "Not a date (YYYY-MM-DD) or an ISO 8601 date-time."}

    def __init__(self, **kwargs: Any) -> None:
        # The document says date or date-time, so an empty or free-form value is refused by it too.
        kwargs["metadata"] = {"anyOf": [{"format": "date"}, {"format": "date-time"}], "minLength": 10,
                              **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date | datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.make_error("invalid") from None
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def start_of(value: date | datetime | None) -> datetime | None:
    """The first moment a ``from`` filter includes."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=timezone.utc)


def end_of(value: date | datetime | None) -> datetime | None:
    """The last moment a ``to`` filter includes: a whole day for a plain date."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.max, tzinfo=timezone.utc)


class UsageQuerySchema(PageQuerySchema):
    since = Moment(data_key="from", load_default=None, metadata={"description": "From this date or moment"})
    until = Moment(data_key="to", load_default=None,
                   metadata={"description": "Up to this moment, or through the end of this date"})
    status = fields.Enum(UsageStatus, by_value=True, load_default=None)
    model = fields.String(load_default=None, validate=validate.Length(min=1, max=200))

    @validates_schema
    def check_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        since, until = start_of(data.get("since")), end_of(data.get("until"))
        if since is not None and until is not None and since > until:
            raise ValidationError("Must not be before 'from'.", "to")


class UsageEntrySchema(ApiSchema):
    id = fields.UUID(required=True)
    created_at = fields.DateTime(required=True)
    tenant_id = fields.UUID(required=True)
    run_id = fields.UUID(allow_none=True)
    run_step_id = fields.UUID(allow_none=True)
    model = fields.String(attribute="model_name", required=True)
    provider = fields.String(required=True)
    key_source = fields.Enum(KeySource, by_value=True, required=True,
                             metadata={"description": "platform (draws credits), byok or local (draw nothing)"})
    tokens_prompt = fields.Integer(required=True)
    tokens_completion = fields.Integer(required=True)
    tokens_total = fields.Integer(required=True)
    credits_charged = fields.Integer(required=True)
    cost_usd = Money(required=True)
    cost_cents = fields.Integer(required=True)
    context_type = fields.String(required=True)
    status = fields.Enum(UsageStatus, by_value=True, required=True)
    error_code = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    response_time_ms = fields.Integer(required=True)
    usage_source = fields.Enum(UsageSource, by_value=True, allow_none=True, required=True,
                               metadata={"description": "where the tokens come from: reported by the server, "
                                         "counted with the model's tokenizer, or estimated from the text; "
                                         "null on a failed try"})
    call_id = fields.UUID(allow_none=True, required=True,
                          metadata={"description": "the model call this row is a try of (its tries share it)"})
    call_try = fields.Integer(allow_none=True, required=True, metadata={"description": "the try's number, from 1"})


class UsageTotalsSchema(ApiSchema):
    calls = fields.Integer(required=True, metadata={"description": "model calls (the tries of one call count once)"})
    tries = fields.Integer(required=True, metadata={"description": "rows: every try of every call"})
    tokens_estimated = fields.Integer(required=True, metadata={"description": "of tokensTotal, those estimated "
                                                               "because the server reported none"})
    tokens_prompt = fields.Integer(required=True)
    tokens_completion = fields.Integer(required=True)
    tokens_total = fields.Integer(required=True)
    credits_charged = fields.Integer(required=True)
    cost_usd = Money(required=True)
    cost_cents = fields.Integer(required=True)


class UsagePageSchema(ApiSchema):
    items = fields.List(fields.Nested(UsageEntrySchema), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    totals = fields.Nested(UsageTotalsSchema, required=True,
                           metadata={"description": "Over every row the filters match, not only this page"})


# Preferences (seed 001's UserPreferences) -------------------------------------------------------
#: What an unset preference reads as. No default models: the workflow's or the site's
#: DEFAULT_MODEL applies (seed 001's named models need not be installed here); no primer.
PREFERENCE_DEFAULTS: dict[str, Any] = {
    "default_models": {},
    "style_primer": None,
    "auto_save_enabled": True,
    "streaming_buffer_size": 10,
    "keyboard_shortcuts": {},
    "theme": "default",
    "max_concurrent_pipelines": 3,
    "export_format": "yaml",
}
MAX_DEFAULT_MODELS = 50
MAX_SHORTCUTS = 100


def _model_name(*, allow_none: bool = False) -> fields.String:
    return fields.String(allow_none=allow_none, validate=validate.Regexp(
        MODEL_NAME, error="Name the model as provider:model, e.g. openai:gpt-4o-mini."))


def _step_name() -> fields.String:
    return fields.String(validate=validate.Regexp(
        STEP_NAME, error="A step name is 1 to 100 letters, digits, '.', '_' or '-'."))


def _shortcut_part() -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=50))


class PreferencesSchema(ApiSchema):
    default_models = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                                 metadata={"description": "Step name → provider:model"})
    style_primer = fields.String(allow_none=True)
    auto_save_enabled = fields.Boolean(required=True)
    streaming_buffer_size = fields.Integer(required=True)
    keyboard_shortcuts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    theme = fields.String(required=True)
    max_concurrent_pipelines = fields.Integer(required=True)
    export_format = fields.String(required=True)


class PreferencesPatchSchema(ApiSchema):
    """Change some preferences; ``null`` resets one to its default. The two maps merge:
    a key set to ``null`` is removed, others are added or replaced (JSON merge patch)."""

    openapi = {"minProperties": 1}  # not_empty below

    default_models = fields.Dict(keys=_step_name(), values=_model_name(allow_none=True), allow_none=True,
                                 validate=validate.Length(max=MAX_DEFAULT_MODELS))
    style_primer = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    auto_save_enabled = StrictBoolean(allow_none=True)
    streaming_buffer_size = JsonInteger(allow_none=True, validate=validate.Range(min=1, max=1000))
    keyboard_shortcuts = fields.Dict(keys=_shortcut_part(), values=fields.String(allow_none=True,
                                                                                 validate=validate.Length(max=50)),
                                     allow_none=True, validate=validate.Length(max=MAX_SHORTCUTS))
    theme = fields.String(allow_none=True, validate=validate.OneOf(THEMES))
    max_concurrent_pipelines = JsonInteger(allow_none=True, validate=validate.Range(min=1, max=20))
    export_format = fields.String(allow_none=True, validate=validate.OneOf(EXPORT_FORMATS))

    @validates_schema
    def not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Send at least one preference to change.", "_schema")


# Provider keys (seed 003's BYOK) ----------------------------------------------------------------
class ProviderKeySchema(ApiSchema):
    """A stored key as people see it: never the key, only its last characters."""

    id = fields.UUID(required=True)
    provider = fields.String(required=True)
    label = fields.String(allow_none=True)
    masked = fields.String(required=True, metadata={"description": "The key's last four characters, e.g. …abcd"})
    status = fields.Enum(ProviderKeyStatus, by_value=True, required=True)
    owner = fields.Function(lambda key: "user" if key.user_id else "tenant", required=True,
                            metadata={"description": "user (yours) or tenant (the tenant's)"})
    created_by_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    rejected_reason = fields.String(allow_none=True, metadata={"description": "What the provider said when it "
                                                                               "refused the key"})


class ProviderKeyCreateSchema(ApiSchema):
    provider = fields.String(required=True, validate=validate.Regexp(
        PROVIDER_NAME, error="Name an installed provider, e.g. openai."))
    key = fields.String(required=True, load_only=True, validate=validate.Regexp(
        PROVIDER_KEY, error="A key is 8 to 500 visible ASCII characters, with no spaces or line breaks."))
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
