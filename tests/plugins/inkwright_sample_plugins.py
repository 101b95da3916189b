"""Entry-point targets for the plugin-loading tests in tests/test_plugins.py.

The tests point ``importlib.metadata.EntryPoint`` objects (or a generated dist-info) at
these names; each class is one kind of plugin a real package might ship, good or bad.
"""

from __future__ import annotations

from flask import Blueprint

from app.toolkit import Completion, Plugin, Provider, Schema, Setting, Skill, fields


class TextSchema(Schema):
    text = fields.String(required=True)


class ShoutSkill(Skill):
    name = "shout"
    input_schema = TextSchema
    output_schema = TextSchema

    def run(self, ctx, inputs):
        return {"text": inputs["text"].upper()}


class WhisperSkill(ShoutSkill):
    """A second skill that claims the same name as ShoutSkill."""

    def run(self, ctx, inputs):
        return {"text": inputs["text"].lower()}


class NamelessSkill(Skill):
    def run(self, ctx, inputs):
        return {}


class NotASkill:
    """Looks like a skill, but does not subclass app.toolkit.Skill."""

    name = "impostor"

    def run(self, ctx, inputs):
        return {}


class EchoProvider(Provider):
    name = "echo"

    def complete(self, request):
        return Completion(text=request.messages[-1]["content"], input_tokens=1, output_tokens=1,
                          model=request.model)


greeting_pages = Blueprint("greeting_pages", __name__)


@greeting_pages.route("/greeting")
def greeting():
    return "hello from a plugin"


class GreetingPlugin(Plugin):
    name = "greeting"
    settings = [Setting("GREETING_WORD", "hello", "what the greeting page says")]

    def blueprints(self):
        return [greeting_pages]


class BadPrefixPlugin(Plugin):
    name = "badprefix"
    settings = [Setting("WORD", "hello", "a setting without the plugin's prefix")]


class BrokenBlueprintsPlugin(Plugin):
    name = "broken-blueprints"

    def blueprints(self):
        raise RuntimeError("the blueprint factory is broken")
