"""The model catalog (app/model_catalog.py): providers' own models, the operator's file,
prices, and the errors a bad name or a missing price gets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.errors import ConfigError, ModelNotPricedError, UnknownModelError
from app.model_catalog import ModelCatalog, parse_catalog
from app.toolkit import Completion, ModelInfo, Provider


class Local(Provider):
    name = "local"
    models = (ModelInfo("local:small", 4096, Decimal("0.001"), Decimal("0.002"), description="a small one"),)

    def complete(self, request):
        return Completion(text="", input_tokens=0, output_tokens=0, model=request.model)


def catalog_with(tmp_path, text: str) -> ModelCatalog:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return ModelCatalog.load({"local": Local}, str(path))


def test_a_providers_own_models_are_priced_and_cost_follows_seed_001(tmp_path):
    catalog = ModelCatalog({"local": Local})
    info = catalog.priced("local:small")
    # seed 001's calculate_cost: tokens × price per 1,000
    assert info.cost(1500, 500) == Decimal("0.0015") + Decimal("0.001")
    assert [model.name for model in catalog.listing()] == ["local:small"]


def test_the_file_adds_models_and_reprices_known_ones_keeping_the_rest(tmp_path):
    catalog = catalog_with(tmp_path, """
models:
  - name: local:small
    input_per_1k: 0.5
    output_per_1k: 1
  - name: local:llama-3.1-8b
    context_window: 131072
    input_per_1k: 0
    output_per_1k: 0
""")
    small = catalog.priced("local:small")
    assert (small.input_per_1k, small.output_per_1k, small.context_window, small.description) == (
        Decimal("0.5"), Decimal("1"), 4096, "a small one")
    assert catalog.priced("local:llama-3.1-8b").cost(10_000, 10_000) == 0


def test_a_model_its_provider_serves_but_nobody_priced_cannot_be_metered():
    catalog = ModelCatalog({"local": Local})
    with pytest.raises(ModelNotPricedError) as raised:
        catalog.priced("local:unlisted")
    assert raised.value.code == "MODEL_NOT_PRICED"
    assert "MODEL_CATALOG" in raised.value.message


@pytest.mark.parametrize("name", ["small", "nowhere:big", ":small", "local:", ""])
def test_names_that_no_installed_provider_serves_are_unknown_models(name):
    with pytest.raises(UnknownModelError) as raised:
        ModelCatalog({"local": Local}).info(name)
    assert raised.value.code == "UNKNOWN_MODEL"


def test_every_bad_entry_of_the_file_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as raised:
        catalog_with(tmp_path, """
models:
  - name: no-colon
  - name: local:a
    input_per_1k: -1
  - name: local:b
    output_per_1k: lots
  - name: local:c
    colour: red
  - just a string
""")
    problems = raised.value.problems
    assert len(problems) == 5
    assert "model 1" in problems[0] and "provider:model" in problems[0]
    assert "cannot be negative" in problems[1]
    assert "not a price" in problems[2]
    assert "colour" in problems[3]
    assert "mapping" in problems[4]


def test_a_file_without_a_models_list_or_that_cannot_be_read_stops_the_start(tmp_path):
    with pytest.raises(ConfigError, match="'models' list"):
        parse_catalog({"model": []}, "x.yaml")
    with pytest.raises(ConfigError, match="cannot be read"):
        ModelCatalog.load({}, str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="cannot be read"):
        catalog_with(tmp_path, "models: [unclosed")


def test_the_file_may_say_how_a_models_server_is_asked_for_json(tmp_path):
    catalog = catalog_with(tmp_path, """
models:
  - name: local:small
    structured_output: prompt
  - name: local:other
    input_per_1k: 0
    output_per_1k: 0
    structured_output: json_object
""")
    assert catalog.info("local:small").structured_output == "prompt"
    assert catalog.info("local:small").input_per_1k == Decimal("0.001")  # the rest kept
    assert catalog.info("local:other").structured_output == "json_object"

    with pytest.raises(ConfigError, match="structured_output must be one of auto, json_schema"):
        catalog_with(tmp_path, "models:\n  - name: local:small\n    structured_output: xml\n")
