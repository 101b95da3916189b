"""The JSON shapes of DraftForge's API: the seed's field names (tables 2, 3), camelCase on the
wire, unknown fields refused (the core's ``ApiSchema``)."""

from __future__ import annotations

from typing import Any

from app.toolkit import (
    MAX_OFFSET,
    ApiSchema,
    JsonInteger,
    NotBlank,
    SchemaValidationError,
    fields,
    validate,
    validates_schema,
)

from .models import ProjectStatus, ProjectType, Visibility
from .projects import AGENT_TYPES, TRIGGERS

#: The largest chapter text the studio takes in one write, in UTF-8 bytes (a long chapter is
#: 100 KB; a whole novel is about 1 MB).
CHAPTER_MAX_BYTES = 2 * 1024 * 1024
SLUG_PATTERN = r"^[a-z0-9_-]{1,100}$"
SHA_OR_REF = validate.Length(min=1, max=255)


class StrictBoolean(fields.Boolean):
    """JSON true or false only (a plain Boolean lets 0 and 1 in)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ChapterText(fields.String):
    """A chapter's Markdown, at most :data:`CHAPTER_MAX_BYTES` of UTF-8."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})["description"] = (
            f"Markdown, at most {CHAPTER_MAX_BYTES} bytes of UTF-8")
        kwargs["metadata"]["maxLength"] = CHAPTER_MAX_BYTES
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > CHAPTER_MAX_BYTES or len(text.encode("utf-8", errors="surrogatepass")) > CHAPTER_MAX_BYTES:
            raise SchemaValidationError(f"A chapter may hold at most {CHAPTER_MAX_BYTES} bytes of UTF-8.")
        if "\0" in text:
            raise SchemaValidationError("A chapter's text may not contain NUL characters.")
        return text


def _require_some(data: dict[str, Any]) -> None:
    if not data:
        raise SchemaValidationError("Send at least one field to change.", "_schema")


# -- Settings (the seed's settings JSONB) ------------------------------------------------------

class AgentSettingsSchema(ApiSchema):
    enabled = StrictBoolean()
    model = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))
    trigger = fields.String(allow_none=True, validate=validate.OneOf(TRIGGERS))
    context_window = JsonInteger(allow_none=True, validate=validate.Range(min=1, max=50))
    schedule = fields.String(allow_none=True, validate=validate.Length(min=1, max=100),
                             metadata={"description": "When a scheduled agent runs (a cron expression)"})
    auto_comment = StrictBoolean()


#: Settings by agent name: DraftForge's four (continuity, style, timeline, fact) and any agent a
#: pip-installed package adds; the project service refuses a name no installed plugin provides.
AGENT_SETTINGS = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                             values=fields.Nested(AgentSettingsSchema), validate=validate.Length(max=50),
                             metadata={"description": "By agent name: " + ", ".join(AGENT_TYPES)
                                                      + ", or another installed agent (GET /api/agents)"})


class CompilationSchema(ApiSchema):
    pandoc_template = fields.String(validate=validate.Length(min=1, max=100))
    include_cover = StrictBoolean()
    auto_build_on_tag = StrictBoolean()


class GithubActionsSchema(ApiSchema):
    stats_enabled = StrictBoolean()
    compile_enabled = StrictBoolean()
    ai_review_enabled = StrictBoolean()


class SettingsSchema(ApiSchema):
    """The seed's ``{agents, compilation, github_actions}``; a change merges into what is there."""

    agents = AGENT_SETTINGS
    compilation = fields.Nested(CompilationSchema)
    github_actions = fields.Nested(GithubActionsSchema)


class SettingsUpdateSchema(SettingsSchema):
    openapi = {"minProperties": 1}

    @validates_schema
    def not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        _require_some(data)


# -- Projects ----------------------------------------------------------------------------------

class ProjectCreateSchema(ApiSchema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), NotBlank()])
    slug = fields.String(required=True, validate=validate.Regexp(
        SLUG_PATTERN, error="1 to 100 lower-case letters, digits, hyphens and underscores."))
    project_type = fields.Enum(ProjectType, by_value=True, required=True)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10_000))
    genre = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    target_word_count = JsonInteger(load_default=None, allow_none=True,
                                    validate=validate.Range(min=0, max=100_000_000))
    language = fields.String(load_default="en", validate=validate.Length(min=1, max=10))
    visibility = fields.Enum(Visibility, by_value=True, load_default=Visibility.PRIVATE)
    settings = fields.Nested(SettingsSchema, load_default=None, allow_none=True)


class ProjectUpdateSchema(ApiSchema):
    openapi = {"minProperties": 1}

    name = fields.String(validate=[validate.Length(min=1, max=100), NotBlank()])
    description = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    genre = fields.String(allow_none=True, validate=validate.Length(max=100))
    target_word_count = JsonInteger(allow_none=True, validate=validate.Range(min=0, max=100_000_000))
    language = fields.String(validate=validate.Length(min=1, max=10))
    visibility = fields.Enum(Visibility, by_value=True)
    settings = fields.Nested(SettingsSchema)

    @validates_schema
    def not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        _require_some(data)


class ProjectQuerySchema(ApiSchema):
    status = fields.Enum(ProjectStatus, by_value=True, load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class ProjectSchema(ApiSchema):
    id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    description = fields.String(allow_none=True)
    project_type = fields.Enum(ProjectType, by_value=True, required=True)
    github_repo_id = fields.Integer(allow_none=True)
    github_repo_name = fields.String(allow_none=True)
    github_repo_url = fields.String(allow_none=True)
    github_default_branch = fields.String(required=True)
    chapters_directory = fields.String(required=True)
    manuscript_directory = fields.String(required=True)
    settings = fields.Dict(required=True, metadata={"description": "The seed's {agents, compilation, "
                                                                   "github_actions}, keys as stored"})
    genre = fields.String(allow_none=True)
    target_word_count = fields.Integer(allow_none=True)
    language = fields.String(required=True)
    status = fields.Enum(ProjectStatus, by_value=True, required=True)
    visibility = fields.Enum(Visibility, by_value=True, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    archived_at = fields.DateTime(allow_none=True)
    deleted_at = fields.DateTime(allow_none=True)


class ProjectPageSchema(ApiSchema):
    items = fields.List(fields.Nested(ProjectSchema), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class SettingsOutSchema(ApiSchema):
    settings = fields.Dict(required=True, metadata={"description": "The project's settings, keys as stored "
                                                                   "(snake_case, as in the seed)"})


# -- Chapters ----------------------------------------------------------------------------------

class RefQuerySchema(ApiSchema):
    ref = fields.String(load_default=None, validate=SHA_OR_REF,
                        metadata={"description": "A branch or commit sha; the default branch if absent"})


class ChapterSummarySchema(ApiSchema):
    path = fields.String(required=True)
    title = fields.String(required=True)
    index = fields.Integer(required=True, metadata={"description": "Place in reading order, from 1"})
    word_count = fields.Integer(required=True)
    character_count = fields.Integer(required=True)


class ChapterListSchema(ApiSchema):
    sha = fields.String(required=True, metadata={"description": "The commit read; send it as `base` to edit"})
    items = fields.List(fields.Nested(ChapterSummarySchema), required=True)


class ChapterTextSchema(ApiSchema):
    sha = fields.String(required=True, metadata={"description": "The commit read; send it as `base` to edit"})
    path = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True)
    word_count = fields.Integer(required=True)
    character_count = fields.Integer(required=True)


class ChapterCreateSchema(ApiSchema):
    title = fields.String(required=True, validate=[validate.Length(min=1, max=300), NotBlank()])
    text = ChapterText(load_default="")
    base = fields.String(load_default=None, allow_none=True, validate=SHA_OR_REF,
                         metadata={"description": "The commit the writer started from; none: the head"})


class ChapterSaveSchema(ApiSchema):
    text = ChapterText(required=True)
    base = fields.String(load_default=None, allow_none=True, validate=SHA_OR_REF,
                         metadata={"description": "The commit the writer started from; none: the head"})
    title = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=300), NotBlank()],
                          metadata={"description": "A new title: the heading changes and the file is renamed"})


class ChapterDeleteQuerySchema(ApiSchema):
    base = fields.String(load_default=None, validate=SHA_OR_REF)


class ChapterReorderSchema(ApiSchema):
    paths = fields.List(fields.String(validate=validate.Length(min=1, max=1000)), required=True,
                        validate=validate.Length(min=1, max=10_000))
    base = fields.String(load_default=None, allow_none=True, validate=SHA_OR_REF)


class ChapterCommitSchema(ApiSchema):
    sha = fields.String(required=True, metadata={"description": "The branch's head after the write"})
    path = fields.String(allow_none=True, metadata={"description": "The chapter's path after the write"})


# -- History -----------------------------------------------------------------------------------

class CommitQuerySchema(ApiSchema):
    ref = fields.String(load_default=None, validate=SHA_OR_REF)
    path = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))


class CommitSchema(ApiSchema):
    sha = fields.String(required=True)
    parents = fields.List(fields.String(), required=True)
    author_name = fields.String(required=True)
    author_email = fields.String(required=True)
    message = fields.String(required=True)
    time = fields.DateTime(required=True)
    changed_paths = fields.List(fields.String(), required=True)


class CommitPageSchema(ApiSchema):
    items = fields.List(fields.Nested(CommitSchema), required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)


class FileDiffSchema(ApiSchema):
    path = fields.String(required=True)
    old_path = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["added", "modified", "deleted", "renamed"]})
    unified_diff = fields.String(required=True)
    added_lines = fields.Integer(required=True)
    removed_lines = fields.Integer(required=True)


class CommitDetailSchema(CommitSchema):
    files = fields.List(fields.Nested(FileDiffSchema), required=True)


# -- Stats -------------------------------------------------------------------------------------

class DayStatsSchema(ApiSchema):
    date = fields.Date(required=True)
    word_count = fields.Integer(required=True)
    chapter_count = fields.Integer(required=True)
    words_written_today = fields.Integer(required=True)
    commits = fields.Integer(required=True)


class ProjectStatsSchema(ApiSchema):
    project_id = fields.UUID(required=True)
    word_count = fields.Integer(required=True)
    chapter_count = fields.Integer(required=True)
    character_count = fields.Integer(required=True)
    last_commit_sha = fields.String(allow_none=True)
    last_commit_at = fields.DateTime(allow_none=True)
    total_commits = fields.Integer(required=True)
    current_streak_days = fields.Integer(required=True, metadata={"description": "As of today: 0 once a day "
                                                                                 "has passed without writing"})
    longest_streak_days = fields.Integer(required=True)
    last_write_date = fields.Date(allow_none=True)
    target_word_count = fields.Integer(allow_none=True)
    stats_history = fields.List(fields.Nested(DayStatsSchema), required=True,
                                metadata={"description": "One entry per day with a commit, newest first"})
    updated_at = fields.DateTime(allow_none=True)


class HistoryQuerySchema(ApiSchema):
    limit = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3660))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))


class HistorySchema(ApiSchema):
    items = fields.List(fields.Nested(DayStatsSchema), required=True,
                        metadata={"description": "Days with a commit, newest first"})
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


# -- GitHub ------------------------------------------------------------------------------------

GITHUB_REPO_NAME = r"^[A-Za-z0-9_.\-]{1,100}/[A-Za-z0-9_.\-]{1,100}$"


class GithubLinkSchema(ApiSchema):
    repo_id = JsonInteger(required=True, validate=validate.Range(min=1, max=2**53 - 1),
                          metadata={"description": "GitHub's id of the repository (repository.id in its payloads)"})
    repo_name = fields.String(required=True, validate=validate.Regexp(GITHUB_REPO_NAME, error="owner/name."),
                              metadata={"description": "owner/name"})
    repo_url = fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(r"^https://[A-Za-z0-9.\-]{1,253}(/[!-~]{0,500})?$",
                                                      error="An https:// URL."),
                             metadata={"description": "Default: https://github.com/<repoName>"})
    webhook_id = JsonInteger(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**53 - 1),
                             metadata={"description": "GitHub's id of the webhook, when known"})


class GithubLinkOutSchema(ApiSchema):
    project = fields.Nested(ProjectSchema, required=True)
    webhook_url = fields.String(required=True, metadata={"description": "Payload URL for GitHub's webhook settings"})
    webhook_secret = fields.String(required=True, metadata={"description": "The secret GitHub signs deliveries "
                                                                          "with: shown this once"})


class GithubDeliverySchema(ApiSchema):
    event = fields.String(allow_none=True, required=True)
    project_id = fields.UUID(required=True)
    content_available = fields.Boolean(allow_none=True, required=True,
                                       metadata={"description": "For a push: whether its commit is in the "
                                                                "manuscript (nothing is fetched from GitHub)"})
    agents_queued = fields.List(fields.String(), required=True)
    reason = fields.String(metadata={"description": "Why nothing (more) was done"})
