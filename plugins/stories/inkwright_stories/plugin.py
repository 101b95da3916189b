"""The stories plugin: what it adds to Inkwright, named in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from flask import url_for

from app.toolkit import EventType, Plugin, RunSubject, repositories

from . import events
from .api import stories_api, story_workflow_api
from .exports import StoryExports
from .models import Chapter, Story
from .repositories import StoryRepository
from .web import pages

HERE = Path(__file__).resolve().parent


class StoriesPlugin(Plugin):
    """Story generation (seed 000): models, migration branch ``stories``, the packaged
    workflow ``stories.generate``, seed 000's routes, pages and events, and stories as books
    to export (``stories.story``)."""

    name = "stories"
    version = "0.1.0"
    models = [Story, Chapter]
    migrations = HERE / "migrations"
    workflows = HERE / "workflows"
    templates = HERE / "templates"

    def blueprints(self):
        return [pages]

    def api_blueprints(self):
        return [stories_api, story_workflow_api]

    def event_handlers(self):
        return events.event_handlers()

    def event_types(self):
        # What generation.py publishes; tenants' webhooks may subscribe to these.
        return [EventType("story.generation.started", "A story began generating."),
                EventType("story.generation.completed", "A story finished generating (or failed: see success).")]

    def export_sources(self):
        # A story exports as a book: EPUB, PDF, DOCX, HTML or Markdown, made on a worker.
        return [StoryExports()]

    def navigation(self) -> Iterable[tuple[str, str]]:
        return [("Stories", "stories.index")]

    def run_subjects(self, runs):
        stories = repositories().get(StoryRepository).by_runs([run.id for run in runs])
        return {story.run_id: RunSubject(f"Story: {story.title}", url_for("stories.show", story_id=story.id))
                for story in stories}
