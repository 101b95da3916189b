"""The audit log over JSON: one entry, and the filters of a page of them."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .account import Moment, end_of, start_of
from .base import ApiSchema, PageQuerySchema


class AuditEntrySchema(ApiSchema):
    id = fields.UUID(required=True)
    created_at = fields.DateTime(required=True)
    tenant_id = fields.UUID(allow_none=True, required=True,
                            metadata={"description": "null for what happened in no tenant (a failed sign-in "
                                                     "with an unknown email)"})
    user_id = fields.UUID(allow_none=True, required=True, metadata={"description": "who did it, if known"})
    action = fields.String(required=True, metadata={"description": "noun.verb: auth.login, api_key.create, "
                                                                   "run.cancel, a plugin's article.export…"})
    entity_type = fields.String(allow_none=True, required=True)
    entity_id = fields.String(allow_none=True, required=True)
    ip_address = fields.String(allow_none=True, required=True,
                               metadata={"description": "the client's address, as the trusted proxies report it"})
    user_agent = fields.String(allow_none=True, required=True)
    changes = fields.Dict(allow_none=True, required=True,
                          metadata={"description": "{field: {before, after}} of what changed; secrets masked"})
    metadata = fields.Dict(attribute="details", allow_none=True, required=True,
                           metadata={"description": "anything else recorded (how the actor signed in…); "
                                                    "secrets masked"})


#: Printable text: a control character (NUL above all, which PostgreSQL cannot even compare)
#: names no action or entity, and is refused rather than sent to the database.
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*\Z", error="Must not hold control characters.")


def _text(maximum: int) -> list:
    return [validate.Length(min=1, max=maximum), PRINTABLE]


class AuditQuerySchema(PageQuerySchema):
    user_id = fields.UUID(load_default=None, metadata={"description": "Entries of this actor"})
    action = fields.String(load_default=None, validate=_text(100))
    entity_type = fields.String(load_default=None, validate=_text(50))
    entity_id = fields.String(load_default=None, validate=_text(100))
    since = Moment(data_key="from", load_default=None, metadata={"description": "From this date or moment"})
    until = Moment(data_key="to", load_default=None,
                   metadata={"description": "Up to this moment, or through the end of this date"})
    tenant_id = fields.UUID(load_default=None, metadata={
        "description": "Platform administrators: entries of this tenant only (others read their own tenant)"})

    @validates_schema
    def check_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        since, until = start_of(data.get("since")), end_of(data.get("until"))
        if since is not None and until is not None and since > until:
            raise ValidationError("Must not be before 'from'.", "to")
