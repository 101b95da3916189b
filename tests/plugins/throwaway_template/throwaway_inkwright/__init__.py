"""A throwaway plugin distribution, installed into a temporary folder by tests/test_plugins.py.

It is what a third-party package looks like to Inkwright: a skill, a provider and a
feature plugin with a browser page, a JSON endpoint, a model and its own migration branch,
all reached through ``app.toolkit`` and found through entry points only.
"""

from __future__ import annotations

from pathlib import Path

from app.toolkit import Completion, CompletionRequest, Plugin, Provider, Schema, Skill, fields

from .models import Note
from .views import api, pages


class NoteSchema(Schema):
    text = fields.String(required=True)


class NoteSkill(Skill):
    """Turns a line of text into a note title."""

    name = "throwaway-note"
    version = "1"
    input_schema = NoteSchema
    output_schema = NoteSchema

    def run(self, ctx, inputs):
        return {"text": inputs["text"].title()}


class EchoProvider(Provider):
    """Answers every prompt with the prompt itself."""

    name = "throwaway-echo"

    def complete(self, request: CompletionRequest) -> Completion:
        text = request.messages[-1]["content"]
        return Completion(text=text, input_tokens=len(text.split()), output_tokens=len(text.split()),
                          model=request.model)


class ThrowawayPlugin(Plugin):
    name = "throwaway"
    models = [Note]
    migrations = Path(__file__).resolve().parent / "migrations"

    def blueprints(self):
        return [pages]

    def api_blueprints(self):
        return [api]


plugin = ThrowawayPlugin()
