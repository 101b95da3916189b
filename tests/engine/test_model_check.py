"""Every model a run could use, resolved at submit (app/engine/model_check.py): pure, no I/O
beyond the model catalog held in memory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.engine.model_check import check_run_models, models_of_run
from app.errors import RunModelNotPricedError, RunModelUnknownError, ValidationError
from app.model_catalog import ModelCatalog
from app.providers.offline.provider import OfflineProvider
from app.toolkit import Completion, ModelInfo, Provider
from app.workflows.loader import load_workflow


class Rented(Provider):
    """A provider with one priced model; any other of its models is served but not priced."""

    name = "rented"
    models = (ModelInfo("rented:big", 8192, Decimal("0.01"), Decimal("0.02")),)

    def complete(self, request):
        return Completion(text="", input_tokens=0, output_tokens=0, model=request.model)


CATALOG = ModelCatalog({"offline": OfflineProvider, "rented": Rented})

ARTICLE = """
name: pick
version: "1"
inputs:
  topic: {type: string, default: owls}
  draft_model: {type: string, default: "offline:writer"}
  reviewer: {type: string, default: "offline:fast"}
  label: {type: string, default: "not:a-model"}
defaults: {model: "offline:writer"}
steps:
  - id: draft
    skill: text.generate
    with: {prompt: "{{ inputs.topic }}", model: "{{ inputs.draft_model }}"}
  - id: review
    skill: text.generate
    candidates: [offline:fast, rented:big]
    with: {prompt: "{{ inputs.label }}", models: ["{{ inputs.reviewer }}", "offline:writer"]}
"""


def definition(source: str = ARTICLE):
    return load_workflow(source)


def test_the_models_of_a_run_come_from_defaults_steps_candidates_and_the_inputs_that_name_one():
    uses = {(use.model, use.field) for use in models_of_run(definition(), {"reviewer": "rented:big"})}

    assert uses == {("offline:writer", "workflow"), ("offline:fast", "workflow"), ("rented:big", "workflow"),
                    ("offline:writer", "inputs.draft_model"), ("rented:big", "inputs.reviewer")}
    # "label" is read as text, not passed as a model: its value is nobody's model
    assert not any(field == "inputs.label" for _model, field in uses)


def test_models_the_catalog_serves_and_prices_pass_and_zero_is_a_price():
    check_run_models(CATALOG, definition(), {"draft_model": "offline:fast", "reviewer": "rented:big"})


def test_an_unknown_provider_is_refused_with_the_input_field_that_names_it():
    with pytest.raises(RunModelUnknownError) as refused:
        check_run_models(CATALOG, definition(), {"draft_model": "foo:bar"})

    error = refused.value
    assert (error.code, error.status_code) == ("UNKNOWN_MODEL", 422)
    assert isinstance(error, ValidationError)  # every form that catches bad input catches this
    assert list(error.details["fields"]) == ["inputs.draft_model"]
    assert "foo:bar" in error.details["fields"]["inputs.draft_model"][0]
    assert "No model provider named 'foo' is installed" in error.message
    assert "Error" not in error.message  # no exception class name reaches a person


def test_a_model_with_no_price_is_refused_as_not_priced():
    with pytest.raises(RunModelNotPricedError) as refused:
        check_run_models(CATALOG, definition(), {"reviewer": "rented:small"})

    assert refused.value.code == "MODEL_NOT_PRICED"
    assert list(refused.value.details["fields"]) == ["inputs.reviewer"]


def test_every_bad_field_is_named_at_once_and_unknown_wins_over_unpriced():
    with pytest.raises(RunModelUnknownError) as refused:
        check_run_models(CATALOG, definition(), {"draft_model": "rented:tiny", "reviewer": "nowhere:x"})

    assert sorted(refused.value.details["fields"]) == ["inputs.draft_model", "inputs.reviewer"]
    assert {(m["field"], m["code"]) for m in refused.value.details["models"]} == {
        ("inputs.draft_model", "MODEL_NOT_PRICED"), ("inputs.reviewer", "UNKNOWN_MODEL")}


def test_a_malformed_name_is_unknown_and_a_default_input_is_checked_too():
    source = ARTICLE.replace('draft_model: {type: string, default: "offline:writer"}',
                             'draft_model: {type: string, default: "writer"}')
    with pytest.raises(RunModelUnknownError) as refused:
        check_run_models(CATALOG, definition(source), {})
    assert list(refused.value.details["fields"]) == ["inputs.draft_model"]


def test_a_model_written_into_the_workflow_is_reported_under_the_workflow_field():
    source = ARTICLE.replace('defaults: {model: "offline:writer"}', 'defaults: {model: "rented:unpriced"}')
    with pytest.raises(RunModelNotPricedError) as refused:
        check_run_models(CATALOG, definition(source), {})
    assert list(refused.value.details["fields"]) == ["workflow"]
    assert "the workflow's defaults.model" in refused.value.details["fields"]["workflow"][0]


def test_a_step_naming_no_model_uses_the_default_model_setting():
    source = """
name: plain
version: "1"
steps:
  - id: ask
    skill: text.generate
    with: {prompt: hello}
"""
    assert [(use.model, use.source) for use in models_of_run(definition(source), {}, "offline:writer")] == [
        ("offline:writer", "the DEFAULT_MODEL setting")]
    with pytest.raises(RunModelUnknownError):
        check_run_models(CATALOG, definition(source), {}, default_model="gone:model")
