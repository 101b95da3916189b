"""The third party's agent distribution (tests/plugins/agent_template), installed as pip
would leave it: shared by the core's tests of it and DraftForge's (a push on its trigger)."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.test_registry import install_distribution

PACKAGE = "acme_cliches"
TEMPLATE = Path(__file__).resolve().parents[1] / "plugins" / "agent_template" / PACKAGE


@contextmanager
def acme_installed(site: Path) -> Iterator[Path]:
    """``acme-cliches`` 1.0.0 in ``site``, on sys.path while the block runs; forgotten after."""
    shutil.copytree(TEMPLATE, site / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    install_distribution(site, "acme-cliches", "1.0.0", {"inkwright.agents": {"acme.cliches": f"{PACKAGE}:Cliches"}})
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        importlib.invalidate_caches()
        yield site
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()
