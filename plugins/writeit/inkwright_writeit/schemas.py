"""The JSON shapes of WriteIt's API: camelCase on the wire, unknown fields refused."""

from __future__ import annotations

from typing import Any

from app.toolkit import MAX_OFFSET, ApiSchema, NotBlank, SchemaValidationError, fields, validate, validates_schema

from .articles import STEPS
from .export import FORMATS

PRIMER_ID = validate.Regexp(r"^[a-z0-9][a-z0-9\-]{1,63}$",
                            error="1 to 64 lower-case letters, digits and dashes, starting with a letter or digit.")


#: snake_case in Python, camelCase on the wire, unknown fields refused: the core's convention.
WireSchema = ApiSchema


class ArticleModelsSchema(WireSchema):
    angles = fields.String(allow_none=True, validate=validate.Length(min=3, max=200))
    outline = fields.String(allow_none=True, validate=validate.Length(min=3, max=200))
    draft = fields.String(allow_none=True, validate=validate.Length(min=3, max=200))
    polish = fields.String(allow_none=True, validate=validate.Length(min=3, max=200))


class ArticleCreateSchema(WireSchema):
    topic = fields.String(required=True, validate=[validate.Length(min=3, max=2000),
                                                    NotBlank("Say what the article is about.")])
    audience = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    primer_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    models = fields.Nested(ArticleModelsSchema, load_default=dict, metadata={"description": "provider:model per step; "
                                                                      "unset ones come from your preferences"})


class ArticleQuerySchema(WireSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class ArticleBranchInputsSchema(WireSchema):
    audience = fields.String(validate=validate.Length(min=1, max=200))
    style_primer = fields.String(validate=validate.Length(min=1, max=64), data_key="stylePrimer")
    topic = fields.String(validate=validate.Length(min=3, max=2000))


class ArticleBranchSchema(WireSchema):
    step = fields.String(required=True, validate=validate.OneOf(STEPS))
    run_id = fields.UUID(load_default=None, allow_none=True, metadata={"description": "Run to branch; default: "
                                                                       "the article's current run"})
    inputs = fields.Nested(ArticleBranchInputsSchema, load_default=dict,
                           metadata={"description": "Changed inputs; none means rewind to the step"})


class ArticleExportQuerySchema(WireSchema):
    format = fields.String(load_default="markdown", validate=validate.OneOf(FORMATS))
    run_id = fields.UUID(load_default=None, allow_none=True)


class ArticleSchema(WireSchema):
    id = fields.UUID(required=True)
    topic = fields.String(required=True)
    audience = fields.String(required=True)
    title = fields.String(allow_none=True)
    primer_id = fields.String(required=True)
    status = fields.String(attribute="shown_status", required=True,
                           metadata={"description": "running, paused, completed, error, cancelled"})
    root_run_id = fields.UUID(required=True)
    current_run_id = fields.UUID(required=True)
    progress = fields.Function(lambda article: article.progress.as_dict() if getattr(article, "progress", None)
                               else None, allow_none=True,
                               metadata={"description": "The current run's steps: completed, failed, skipped, "
                                                        "waiting, running, remaining; fraction and label"})
    error = fields.Function(lambda article: getattr(article, "failure", None), allow_none=True,
                            metadata={"description": "Why the current run failed: code and message"})
    offline = fields.Boolean(metadata={"description": "The text came (at least partly) from the offline provider"})
    final_markdown = fields.String(allow_none=True)
    created_by_user_id = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class ArticleDetailSchema(ArticleSchema):
    run = fields.Dict(metadata={"description": "The current run: status and each step's status"})
    tree = fields.List(fields.Dict(), metadata={"description": "The runs as a tree of branches"})


class ArticlePageSchema(WireSchema):
    items = fields.List(fields.Nested(ArticleSchema), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class ArticleExportSchema(WireSchema):
    format = fields.String(required=True)
    filename = fields.String(required=True)
    content = fields.String(required=True)


class StylePrimerSchema(WireSchema):
    primer_id = fields.String(required=True, validate=PRIMER_ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    content = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    voice_attributes = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                                   values=fields.String(validate=validate.Length(max=300)), load_default=dict,
                                   validate=validate.Length(max=20))
    example_openings = fields.List(fields.String(validate=validate.Length(min=1, max=500)), load_default=list,
                                   validate=validate.Length(max=10))
    guidelines = fields.Dict(keys=fields.String(validate=validate.OneOf(["avoid", "prefer"])),
                             values=fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                                                validate=validate.Length(max=30)),
                             load_default=dict)
    shipped = fields.Boolean(dump_only=True)
    prompt = fields.Method("formatted", dump_only=True, metadata={"description": "format_for_prompt()"})
    last_used = fields.DateTime(dump_only=True, allow_none=True)

    def formatted(self, primer: Any) -> str:
        return primer.format_for_prompt()


class StylePrimerUpdateSchema(StylePrimerSchema):
    openapi = {"minProperties": 1}  # not_empty below: {} is refused, so the document says so

    class Meta(ApiSchema.Meta):
        exclude = ("primer_id",)

    name = fields.String(validate=validate.Length(min=1, max=200))
    content = fields.String(validate=validate.Length(min=1, max=20000))
    description = fields.String(validate=validate.Length(max=2000))
    voice_attributes = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                                   values=fields.String(validate=validate.Length(max=300)),
                                   validate=validate.Length(max=20))
    example_openings = fields.List(fields.String(validate=validate.Length(min=1, max=500)),
                                   validate=validate.Length(max=10))
    guidelines = fields.Dict(keys=fields.String(validate=validate.OneOf(["avoid", "prefer"])),
                             values=fields.List(fields.String(validate=validate.Length(min=1, max=200))))

    @validates_schema
    def not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise SchemaValidationError("Send at least one field to change.", "_schema")
