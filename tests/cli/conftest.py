"""Fixtures for the ``flask inkwright`` command tests.

Commands run through ``app.test_cli_runner()``; they push their own app context, so a
test never keeps one pushed around an ``invoke``.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Callable

import pytest
from click.testing import Result
from flask import Flask


@pytest.fixture
def run_command(app: Flask) -> Callable[..., Result]:
    """``run_command("config")`` runs ``flask inkwright config`` against the test app."""

    def run(*args: str, application: Flask | None = None) -> Result:
        return (application or app).test_cli_runner().invoke(args=["inkwright", *args])

    return run


@pytest.fixture
def read_table() -> Callable[[str], list[list[str]]]:
    """Read the rows of a rich table a command printed, each as a list of cell texts.

    A cell that wraps continues on lines whose first cell is empty; those pieces are joined
    back with a space (so compare long values with their spaces removed).
    """

    def read(output: str) -> list[list[str]]:
        rows: list[list[str]] = []
        for line in output.splitlines():
            if not line.startswith("│"):
                continue
            cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
            if cells[0] or not rows:
                rows.append(cells)
                continue
            for index, cell in enumerate(cells):
                if cell:
                    rows[-1][index] = f"{rows[-1][index]} {cell}".strip()
        return rows

    return read


@pytest.fixture
def installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install a throwaway distribution with three feature plugins: good, unimportable, bad.

    The distribution is a generated dist-info on ``sys.path``, as pip would leave it; the
    entry-point names carry a random suffix so each test sees its own. Returns the suffix.
    """
    suffix = uuid.uuid4().hex[:8]
    module = f"inkwright_cli_probe_{suffix}"
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{module}.py").write_text(textwrap.dedent(f"""
        from app.toolkit import Plugin, Setting

        class ProbePlugin(Plugin):
            name = "probe{suffix}"
            settings = (Setting("PROBE{suffix.upper()}_COLOUR", "blue", "the probe's colour"),)

        class CarelessPlugin(Plugin):
            name = "careless{suffix}"
            settings = (Setting("COLOUR", "red", "a setting without the plugin's prefix"),)
    """))
    dist_info = site / "inkwright_cli_probe-1.2.3.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: inkwright-cli-probe\nVersion: 1.2.3\n")
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(f"""
        [inkwright.plugins]
        probe{suffix} = {module}:ProbePlugin
        careless{suffix} = {module}:CarelessPlugin
        missing{suffix} = {module}_missing:Nothing
    """))
    monkeypatch.syspath_prepend(str(site))
    return suffix
