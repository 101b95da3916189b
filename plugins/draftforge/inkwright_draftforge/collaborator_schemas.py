"""The JSON shapes of a project's people and a person's invitations (seed 003 table 7)."""

from __future__ import annotations

from app.toolkit import ApiSchema, fields, validate

from .access import PERMISSIONS
from .collaborators import GIVABLE_ROLES
from .schemas import StrictBoolean

ROLES = [role.value for role in GIVABLE_ROLES]
STATUSES = ["pending", "accepted", "declined", "revoked", "expired", "removed"]
PERMISSION_DOC = {"description": "The seed's permission keys to true or false, over the role's defaults: "
                                 + ", ".join(PERMISSIONS)}


class PermissionsSchema(ApiSchema):
    """Each of the seed's keys optional, spelt as the seed spells them; unknown keys refused."""

    can_read = StrictBoolean()
    can_write = StrictBoolean()
    can_delete = StrictBoolean()
    can_invite = StrictBoolean()
    can_run_agents = StrictBoolean()
    can_view_stats = StrictBoolean()
    can_export = StrictBoolean()
    can_manage_settings = StrictBoolean()

    def on_bind_field(self, field_name, field_obj) -> None:
        field_obj.data_key = field_name  # the seed's snake_case keys, as stored


class CollaboratorSchema(ApiSchema):
    id = fields.UUID(required=True)
    project_id = fields.UUID(required=True)
    user_id = fields.UUID(allow_none=True, metadata={"description": "Null for an invitation by email not "
                                                                    "accepted yet"})
    username = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    invitee = fields.String(allow_none=True, metadata={"description": "Whom a pending invitation was sent to, "
                                                                      "as the inviter wrote it"})
    invited_by_user_id = fields.UUID(allow_none=True)
    role = fields.String(required=True, metadata={"description": "owner, editor, reviewer or viewer"})
    permissions = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    invitation_status = fields.String(required=True, metadata={"description": ", ".join(STATUSES)})
    invitation_expires_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    last_accessed_at = fields.DateTime(allow_none=True)
    removed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CollaboratorListSchema(ApiSchema):
    items = fields.List(fields.Nested(CollaboratorSchema), required=True)
    limit = fields.Integer(required=True, metadata={"description": "Collaborators the owner's tier allows "
                                                                   "(null: no limit)"}, allow_none=True)
    counted = fields.Integer(required=True, metadata={"description": "Pending and accepted, the owner not "
                                                                     "counted (rule 6)"})


class InviteSchema(ApiSchema):
    invitee = fields.String(required=True, validate=validate.Length(min=1, max=320),
                            metadata={"description": "A username or an email address"})
    role = fields.String(load_default="viewer", validate=validate.OneOf(ROLES))
    permissions = fields.Nested(PermissionsSchema, load_default=None, metadata=PERMISSION_DOC)


class InvitedSchema(ApiSchema):
    collaborator = fields.Nested(CollaboratorSchema, required=True)
    invitation_token = fields.String(required=True, metadata={"description": "Shown this once; the invitee "
                                                                             "has it in their mail"})
    invitation_url = fields.String(required=True)


class CollaboratorUpdateSchema(ApiSchema):
    openapi = {"minProperties": 1}

    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))
    permissions = fields.Nested(PermissionsSchema, load_default=None, metadata=PERMISSION_DOC)
    revoke = StrictBoolean(load_default=False, metadata={"description": "Revoke a pending invitation"})
    remove = StrictBoolean(load_default=False, metadata={"description": "Remove the collaborator: their access "
                                                                        "ends at once"})


class InvitationSchema(ApiSchema):
    id = fields.UUID(required=True)
    project_id = fields.UUID(required=True)
    project_name = fields.String(required=True)
    tenant_id = fields.UUID(required=True)
    role = fields.String(required=True)
    invitation_status = fields.String(required=True)
    invitation_expires_at = fields.DateTime(allow_none=True)
    invited_by = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class InvitationListSchema(ApiSchema):
    items = fields.List(fields.Nested(InvitationSchema), required=True)


class AnswerSchema(ApiSchema):
    openapi = {"minProperties": 1}

    token = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                          metadata={"description": "The token of the mail's link"})
    invitation_id = fields.UUID(load_default=None, metadata={"description": "Instead of the token: the id of an "
                                                                            "invitation addressed to you"})


class AnsweredSchema(ApiSchema):
    invitation = fields.Nested(InvitationSchema, required=True)
    project_url = fields.String(allow_none=True)
