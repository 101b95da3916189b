"""The WriteIt plugin object: what the package adds to Inkwright."""

from __future__ import annotations

from pathlib import Path

from flask import url_for

from app.toolkit import EventType, Plugin, RunSubject, repositories

from .api import api
from .articles import on_run_cancelled, on_run_completed, on_run_created
from .exports import ArticleExports
from .models import Article, PrimerRecord
from .repositories import ArticleRepository
from .web import pages

PACKAGE = Path(__file__).resolve().parent


class WriteItPlugin(Plugin):
    """Articles from angles to polish (seed 001), in the browser and over JSON."""

    name = "writeit"
    version = "0.1.0"
    models = (Article, PrimerRecord)
    migrations = PACKAGE / "migrations"
    workflows = PACKAGE / "workflows"
    templates = PACKAGE / "templates"

    def blueprints(self):
        return [pages]

    def api_blueprints(self):
        return [api]

    def navigation(self):
        return [("Articles", "writeit.index"), ("Style primers", "writeit.primers")]

    def event_handlers(self):
        # On a worker: the final text is assembled from the run's steps, after the commit
        # that completed the run, whichever process made it.
        return [("run.created", on_run_created, True), ("run.completed", on_run_completed, True),
                ("run.cancelled", on_run_cancelled, True)]

    def event_types(self):
        # What articles.py publishes; tenants' webhooks may subscribe to it.
        return [EventType("writeit.article.created", "An article was started.")]

    def export_sources(self):
        # An article exports as a book (EPUB, PDF, DOCX, HTML or Markdown) made on a worker,
        # beside the instant Markdown, HTML and YAML downloads of its page.
        return [ArticleExports()]

    def run_subjects(self, runs):
        # Every run of an article's family (the first and each branch) makes that article.
        articles = repositories().get(ArticleRepository).of_families(list({run.root_run_id for run in runs}))
        by_family = {article.root_run_id: article for article in articles}
        return {run.id: RunSubject(f"Article: {article.title or article.topic}",
                                   url_for("writeit.article", article_id=article.id))
                for run in runs if (article := by_family.get(run.root_run_id)) is not None}
