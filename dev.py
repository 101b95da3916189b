#!/usr/bin/env python3
"""Inkwright's two commands, for a fresh clone on a machine with only Python 3.11+:

    python3 dev.py start   # the whole studio: web, worker, embedded Redis, SQLite
    python3 dev.py test    # the whole test suite

Both keep a virtual environment in ``.venv`` and (re)install the project and its
first-party plugins into it whenever their packaging files change. Arguments after the
command are passed on (``python3 dev.py start --port 8000``, ``python3 dev.py test -k api``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".inkwright-installed"
PYTEST_NO_TESTS = 5


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def plugin_folders() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "plugins").glob("*/setup.cfg"))


def packaging_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [ROOT / "setup.cfg", ROOT / "pyproject.toml", *(p / "setup.cfg" for p in plugin_folders())]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create .venv and install Inkwright (with test extras) and its plugins when needed."""
    if sys.version_info < (3, 11):
        sys.exit(f"Inkwright needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not venv_python().exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = packaging_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("Installing Inkwright and its plugins into .venv (first run takes about a minute) ...", flush=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip", "setuptools", "wheel"], check=True)
    editable = ["-e", f"{ROOT}[test,postgres,bench]"]
    for folder in plugin_folders():
        editable += ["-e", str(folder)]
    subprocess.run([*pip, *editable], check=True, cwd=ROOT)
    STAMP.write_text(fingerprint)


def run(command: list[str]) -> int:
    try:
        return subprocess.call(command, cwd=ROOT)
    except KeyboardInterrupt:
        return 130


def start(args: list[str]) -> int:
    flask = [str(venv_python()), "-m", "flask", "--app", "app:create_app", "inkwright", "studio"]
    os.chdir(ROOT)
    # Become the studio, so a signal sent to this process (Ctrl-C, a process manager's
    # SIGTERM) reaches it and it stops its workers and Redis on the way out.
    os.execv(flask[0], [*flask, *args])


def test(args: list[str]) -> int:
    code = run([str(venv_python()), "-m", "pytest", *args])
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure, not a pass.", file=sys.stderr)
        return 1
    return code


COMMANDS = {"start": start, "test": test}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_environment()
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
