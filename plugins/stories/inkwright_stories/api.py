"""Seed 000's routes, exactly: stories (CRUD and search) and the story workflow.

Two blueprints, because the seed puts them under two prefixes. ``/api/workflows/…`` is the
core's too: the core routes ``GET /api/workflows/<name>`` and ``…/<name>/versions/<v>``;
these add only ``POST …/story/generate``, ``GET …/<sessionId>/status`` and ``DELETE
…/<sessionId>``, which no core route matches.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE

from app.toolkit import (
    ApiBlueprint,
    ConflictError,
    current_principal,
    repositories,
    utcnow,
)

from .generation import StoryGeneration, publish_created
from .models import Story, StoryStatus, story_metadata
from .repositories import StoryRepository
from .schemas import (
    StoryCreateSchema,
    StoryListSchema,
    StoryRequestSchema,
    StoryResponseSchema,
    StorySchema,
    StorySearchQuerySchema,
    StorySuccessSchema,
    StoryUpdateSchema,
    WorkflowStatusSchema,
)

stories_api = ApiBlueprint("stories_api", __name__, url_prefix="/api/stories",
                           description="Stories and their chapters (seed 000)")
story_workflow_api = ApiBlueprint("story_workflow_api", __name__, url_prefix="/api/workflows",
                                  description="Story generation sessions (seed 000)")


def stories() -> StoryRepository:
    return repositories().get(StoryRepository)


def metadata_from(given: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the metadata a client sent over what the story had (the reading time is computed)."""
    return {**story_metadata(), **(base or {}), **given}


# -- Stories ------------------------------------------------------------------------------

@stories_api.route("", methods=["POST"])
@stories_api.arguments(StoryCreateSchema)
@stories_api.response(201, StorySchema)
def create_story(body: dict[str, Any]):
    """Create a draft story (title, metadata, optionally chapters written by hand)."""
    principal = current_principal()
    principal.require("stories", "create")
    repos = repositories()
    with repos.transaction():
        story = stories().add(Story(title=body["title"].strip(), status=StoryStatus.DRAFT,
                                    details=metadata_from(body["metadata"]), created_by_user_id=principal.user_id))
        story.replace_chapters(body["chapters"])
        publish_created(repos, story)
    return stories().require(story.id)


@stories_api.route("/<story_id>")
@stories_api.response(200, StorySchema)
def get_story(story_id: str):
    """A story with its chapters in order and its metadata."""
    current_principal().require("stories", "read")
    return stories().require(story_id)


@stories_api.route("")
@stories_api.arguments(StorySearchQuerySchema, location="query", unknown=RAISE)
@stories_api.response(200, StoryListSchema)
def search_stories(query: dict[str, Any]):
    """Seed 000's StorySearchQuery: filter by status and title (contains), sort, page."""
    current_principal().require("stories", "read")
    found, total = stories().search(status=query.get("status"), title=query.get("title"), limit=query["limit"],
                                    offset=query["offset"], sort_by=query["sort_by"], sort_order=query["sort_order"])
    return {"stories": found, "total": total, "limit": query["limit"], "offset": query["offset"]}


@stories_api.route("/<story_id>", methods=["PUT"])
@stories_api.arguments(StoryUpdateSchema)
@stories_api.response(200, StorySchema)
def update_story(body: dict[str, Any], story_id: str):
    """Change the title, metadata (merged) or chapters (replaced) of a story not being generated."""
    current_principal().require("stories", "update")
    repos = repositories()
    with repos.transaction():
        story = stories().require(story_id)
        if story.status == StoryStatus.GENERATING:
            raise ConflictError("This story is being generated; change it once generation has ended.",
                                {"storyId": str(story.id), "status": story.status.value})
        if "title" in body:
            story.title = body["title"].strip()
        if "metadata" in body:
            story.details = metadata_from(body["metadata"], story.details)
        if "chapters" in body:
            story.replace_chapters(body["chapters"])
        story.updated_at = utcnow()
        stories().save(story)
    return stories().require(story.id)


@stories_api.route("/<story_id>", methods=["DELETE"])
@stories_api.response(200, StorySuccessSchema)
def delete_story(story_id: str):
    """Delete a story (soft: it is hidden, not erased); a generation under way is cancelled."""
    current_principal().require("stories", "delete")
    StoryGeneration(repositories()).delete(stories().require(story_id))
    return {"success": True}


# -- The story workflow -------------------------------------------------------------------

@story_workflow_api.route("/story/generate", methods=["POST"])
@story_workflow_api.arguments(StoryRequestSchema)
@story_workflow_api.response(202, StoryResponseSchema)
def generate_story(body: dict[str, Any]):
    """Start generating a story from a StoryRequest; follow it with the returned ``sessionId``."""
    story, run = StoryGeneration(repositories()).start(body)
    return {"message": f"Generating a story of {body['n_chapters']} chapters; follow it at "
                       f"/api/workflows/{run.id}/status.",
            "status": story.status.value, "story": story, "story_text": None, "attempts": 1, "session_id": run.id}


@story_workflow_api.route("/<session_id>/status")
@story_workflow_api.response(200, WorkflowStatusSchema)
def workflow_status(session_id: str):
    """Seed 000's WorkflowStatus of a generation session (a run): status, progress, times."""
    return StoryGeneration(repositories()).status(session_id)


@story_workflow_api.route("/<session_id>", methods=["DELETE"])
@story_workflow_api.response(200, StorySuccessSchema)
def cancel_workflow(session_id: str):
    """Cancel a generation session; its story fails with a cancelled message."""
    StoryGeneration(repositories()).cancel(session_id)
    return {"success": True}
