"""The import rules of pyproject.toml's ``[tool.importlinter]``: plugins and the core's own
providers and skills import only ``app.toolkit``, and the house plan's layers keep their order."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_contract_is_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency (setup.cfg [test])"
    finished = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    assert "2 kept, 0 broken" in finished.stdout
