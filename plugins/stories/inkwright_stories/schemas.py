"""Seed 000's shapes on the wire: Story, StorySearchQuery, StoryRequest/Response, WorkflowStatus.

Fields are declared in snake_case and travel as camelCase (the house style), except where
seed 000 itself spells them in snake_case (StoryRequest's fields, ``story_text``).
"""

from __future__ import annotations

from typing import Any

from app.toolkit import (
    MAX_OFFSET,
    ApiSchema,
    JsonInteger,
    ModelName,
    NotBlank,
    SchemaValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from .models import StoryStatus, character_names

#: A story request's line of character names, and so the longest one name may be.
CHARACTERS_MAX = 500
#: The most names such a line holds ("a,b,c…").
NAMES_MAX = CHARACTERS_MAX // 2


class WireSchema(ApiSchema):
    """The core's wire convention (camelCase, unknown fields refused), but for the fields a
    seed spells in snake_case."""

    snake_case_fields: frozenset[str] = frozenset()

    def on_bind_field(self, field_name: str, field_obj: Any) -> None:
        if field_name not in self.snake_case_fields:
            super().on_bind_field(field_name, field_obj)


# -- Story --------------------------------------------------------------------------------

class ChapterSchema(WireSchema):
    id = fields.UUID(dump_only=True)
    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), NotBlank()])
    content = fields.String(required=True, validate=validate.Length(max=200_000))
    order = fields.Integer(dump_only=True)
    word_count = fields.Integer(dump_only=True)


class StoryMetadataSchema(WireSchema):
    """StoryMetadata; loaded and dumped with the camelCase keys it is stored under."""

    # As long as a story request's character line can make them (500 characters: one name of
    # 500, or 250 one-letter names), so every story the API creates is what this says it is.
    primary_characters = fields.List(fields.String(validate=validate.Length(min=1, max=CHARACTERS_MAX)),
                                     attribute="primaryCharacters", validate=validate.Length(max=NAMES_MAX))
    secondary_characters = fields.List(fields.String(validate=validate.Length(min=1, max=CHARACTERS_MAX)),
                                       attribute="secondaryCharacters", validate=validate.Length(max=NAMES_MAX))
    genre = fields.String(allow_none=True, validate=validate.Length(max=60))
    theme = fields.String(allow_none=True, validate=validate.Length(max=200))
    estimated_reading_time = fields.Integer(attribute="estimatedReadingTime", dump_only=True,
                                            metadata={"description": "Minutes, at ~200 words a minute"})


class StorySchema(WireSchema):
    id = fields.UUID(dump_only=True)
    title = fields.String(required=True)
    chapters = fields.List(fields.Nested(ChapterSchema), required=True)
    metadata = fields.Nested(StoryMetadataSchema, attribute="details", required=True)
    status = fields.Enum(StoryStatus, by_value=True, required=True)
    word_count = fields.Integer()
    offline = fields.Boolean(metadata={"description": "Some text came from the offline provider"})
    session_id = fields.UUID(attribute="run_id", allow_none=True,
                             metadata={"description": "The generating run (GET /api/workflows/<sessionId>/status)"})
    error = fields.Dict(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class StoryCreateSchema(WireSchema):
    """Seed 000's CreateStoryRequest: a draft story, written by hand or to be filled later."""

    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), NotBlank()])
    metadata = fields.Nested(StoryMetadataSchema, load_default=dict)
    chapters = fields.List(fields.Nested(ChapterSchema), load_default=list, validate=validate.Length(max=100))


class StoryUpdateSchema(WireSchema):
    """``Partial<Story>``: any of title, metadata (merged) and chapters (replaced in order)."""

    openapi = {"minProperties": 1}  # check_something_changes below

    title = fields.String(validate=[validate.Length(min=1, max=300), NotBlank()])
    metadata = fields.Nested(StoryMetadataSchema)
    chapters = fields.List(fields.Nested(ChapterSchema), validate=validate.Length(max=100))

    @validates_schema
    def check_something_changes(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise SchemaValidationError("Send at least one of title, metadata or chapters.", "_schema")


class StorySearchQuerySchema(WireSchema):
    status = fields.Enum(StoryStatus, by_value=True)
    title = fields.String(validate=validate.Length(min=1, max=300))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    sort_by = fields.String(load_default="createdAt", validate=validate.OneOf(["createdAt", "updatedAt", "title"]))
    sort_order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))


class StoryListSchema(WireSchema):
    stories = fields.List(fields.Nested(StorySchema), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


# -- Story generation ---------------------------------------------------------------------

class StoryRequestSchema(WireSchema):
    """Seed 000's StoryRequest, with its own snake_case field names."""

    snake_case_fields = frozenset({"n_chapters", "story_instructions", "primary_characters", "secondary_characters",
                                   "l_chapter", "model", "outline_model", "chapter_model"})

    n_chapters = JsonInteger(required=True, validate=validate.Range(min=1, max=20))
    story_instructions = fields.String(required=True, validate=[validate.Length(min=1, max=5000), NotBlank()])
    # null means none (tidy_characters below), so the document says null is allowed.
    primary_characters = fields.String(load_default="", allow_none=True, validate=validate.Length(max=CHARACTERS_MAX))
    secondary_characters = fields.String(load_default="", allow_none=True,
                                         validate=validate.Length(max=CHARACTERS_MAX))
    l_chapter = JsonInteger(load_default=300, validate=validate.Range(min=50, max=5000))
    # Beyond seed 000: which models write it. Each left out falls back to `model`, then the
    # person's defaultModels preference for the step ("outline", "chapters"), then the workflow's.
    model = ModelName(load_default=None, metadata={"description": "provider:model for every step"})
    outline_model = ModelName(load_default=None, metadata={"description": "provider:model that plans"})
    chapter_model = ModelName(load_default=None, metadata={"description": "provider:model that writes the chapters"})

    @pre_load
    def tidy_characters(self, data: Any, **_: Any) -> Any:
        # "Ada\nGrace" and "Ada, Grace" mean the same; the workflow takes one line.
        if isinstance(data, dict):
            data = dict(data)
            for key in ("primary_characters", "secondary_characters"):
                if isinstance(data.get(key), str):
                    data[key] = ", ".join(character_names(data[key]))
                elif key in data and data[key] is None:
                    data[key] = ""
        return data


class StoryResponseSchema(WireSchema):
    snake_case_fields = frozenset({"story_text"})

    message = fields.String(required=True)
    status = fields.String(required=True)
    story = fields.Nested(StorySchema, allow_none=True)
    story_text = fields.String(allow_none=True)
    attempts = fields.Integer(required=True)
    session_id = fields.UUID(required=True)


class WorkflowStatusSchema(WireSchema):
    session_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["pending", "running", "completed", "failed", "cancelled"]))
    progress = fields.Float(required=True, metadata={"description": "0 to 1: the share of completed steps"})
    steps = fields.Dict(metadata={"description": "The run's steps apart: completed, failed, skipped, waiting, "
                                                 "running, queued, remaining, total, fraction, label"})
    message = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    story_id = fields.UUID(allow_none=True)


class StorySuccessSchema(WireSchema):
    success = fields.Boolean(required=True)
