"""The plugin toolkit (app/toolkit.py): what a plugin author's classes are checked against."""

from __future__ import annotations

import pytest

import app.toolkit as toolkit
from app.runtime import current_state
from app.toolkit import (
    Agent,
    ApiBlueprint,
    Completion,
    ModelInfo,
    Provider,
    ProviderCredentials,
    ReviewIssue,
    ReviewReport,
    Schema,
    Setting,
    Severity,
    Skill,
    fields,
)


class WordsSchema(Schema):
    text = fields.String(required=True)


class CountSkill(Skill):
    name = "count"
    input_schema = WordsSchema
    output_schema = WordsSchema

    def run(self, ctx, inputs):
        return {"text": str(len(inputs["text"].split()))}


def test_the_toolkit_exports_everything_it_lists():
    missing = [name for name in toolkit.__all__ if not hasattr(toolkit, name)]
    assert missing == []
    assert toolkit.TOOLKIT_VERSION


def test_a_complete_skill_has_no_definition_problems():
    assert CountSkill.definition_problems() == []


@pytest.mark.parametrize(("attributes", "problems"), [
    ({"name": ""}, ["has no name"]),
    ({"version": ""}, ["has no version"]),
    ({"input_schema": dict}, ["input_schema is not a marshmallow Schema class"]),
    ({"output_schema": WordsSchema()}, ["output_schema is not a marshmallow Schema class"]),
    ({"name": "", "version": ""}, ["has no name", "has no version"]),
])
def test_skill_definition_problems_name_what_is_missing(attributes, problems):
    broken = type("BrokenSkill", (CountSkill,), attributes)
    assert broken.definition_problems() == problems


def test_a_skill_without_run_cannot_be_built():
    incomplete = type("IncompleteSkill", (Skill,), {"name": "incomplete"})
    with pytest.raises(TypeError, match="run"):
        incomplete()


def complete_nothing(self, request):
    return Completion(text="", input_tokens=0, output_tokens=0, model=request.model)


@pytest.mark.parametrize("base, body", [(Agent, {}), (Provider, {"complete": complete_nothing})])
def test_agents_and_providers_need_a_name(base, body):
    nameless = type("Nameless", (base,), dict(body))
    named = type("Named", (base,), {"name": "named", **body})
    assert nameless.definition_problems() == ["has no name"]
    assert named.definition_problems() == []


def test_a_provider_declaring_what_it_does_not_implement_is_refused():
    media_only = type("Pictures", (Provider,), {"name": "pictures", "kinds": ("image",)})
    assert media_only.definition_problems() == [
        "declares media kinds ['image'] but does not implement submit() and poll()"]
    textless = type("Quiet", (Provider,), {"name": "quiet"})
    assert textless.definition_problems() == ["declares kind 'text' but does not implement complete()"]
    stray = type("Stray", (Provider,), {"name": "stray", "complete": complete_nothing,
                                         "models": (ModelInfo("other:model"),),
                                         "settings": (Setting("OTHER_KEY", "", "doc"),)})
    assert stray.definition_problems() == ["setting OTHER_KEY must carry the provider's prefix STRAY_",
                                           "model 'other:model' is not named stray:<model>"]


def test_provider_keeps_its_own_copy_of_its_configuration_and_hides_its_key():
    echo = type("Echo", (Provider,), {"name": "echo", "complete": complete_nothing})
    given = {"model": "tiny"}
    provider = echo(given, ProviderCredentials(api_key="sk-secret-value"))
    given["model"] = "changed"
    assert provider.config == {"model": "tiny"}
    assert echo().config == {}
    assert "sk-secret-value" not in repr(provider.credentials)


@pytest.mark.parametrize("confidence", [0.0, 0.5, 1.0])
def test_review_issue_accepts_confidence_between_zero_and_one(confidence):
    issue = ReviewIssue(severity="warning", category="style", message="Passive voice", confidence=confidence)
    assert issue.confidence == confidence
    assert issue.severity is Severity.WARNING


@pytest.mark.parametrize("confidence", [-0.01, 1.01, 2])
def test_review_issue_refuses_confidence_outside_zero_and_one(confidence):
    with pytest.raises(ValueError, match="confidence must lie between 0 and 1"):
        ReviewIssue(severity="info", category="style", message="x", confidence=confidence)


def test_review_issue_refuses_an_unknown_severity():
    with pytest.raises(ValueError):
        ReviewIssue(severity="fatal", category="style", message="x")


def test_severity_breakdown_counts_every_severity_including_absent_ones():
    report = ReviewReport(issues=[
        ReviewIssue(Severity.ERROR, "continuity", "Anna is dead in chapter 2"),
        ReviewIssue("warning", "style", "Long sentence"),
        ReviewIssue("warning", "style", "Adverb"),
    ])
    assert report.severity_breakdown == {"error": 1, "warning": 2, "info": 0}
    assert ReviewReport().severity_breakdown == {"error": 0, "warning": 0, "info": 0}


# ApiBlueprint: a plugin's JSON endpoint answers in the envelope ----------------------

demo = ApiBlueprint("toolkit_demo", __name__, url_prefix="/api/toolkit-demo", description="Word counts")


class CountOut(Schema):
    words = fields.Integer()


@demo.route("/count", methods=["POST"])
@demo.arguments(WordsSchema)
@demo.response(200, CountOut)
def count_words(body):
    return {"words": len(body["text"].split())}


@pytest.fixture
def demo_app(app):
    current_state(app).api.register_blueprint(demo)
    return app


def test_api_blueprint_wraps_responses_in_the_envelope(demo_app, api_client):
    response = api_client.post("/api/toolkit-demo/count", json={"text": "three little words"})
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"success", "data", "error", "metadata"}
    assert (body["success"], body["data"], body["error"]) == (True, {"words": 3}, None)
    assert body["metadata"]["requestId"] == response.headers["X-Request-ID"]


def test_api_blueprint_validation_errors_use_the_envelope(demo_app, api_client):
    response = api_client.post("/api/toolkit-demo/count", json={"txt": "typo"})
    assert response.status_code == 400
    assert response.json["success"] is False and response.json["data"] is None
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert response.json["error"]["details"]["fields"] == {
        "text": ["Missing data for required field."], "txt": ["Unknown field."]}


def test_api_blueprint_documents_the_envelope(demo_app, client):
    spec = client.get("/api/openapi.json").json
    documented = spec["paths"]["/api/toolkit-demo/count"]["post"]["responses"]["200"]["content"]["application/json"]
    name = documented["schema"]["$ref"].rsplit("/", 1)[1]
    properties = spec["components"]["schemas"][name]["properties"]
    assert {"success", "data", "error", "metadata"} <= set(properties)
