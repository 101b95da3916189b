"""A PostgreSQL server of the test's own, to stop and start under a running studio.

The machine's PostgreSQL is shared (by the suite's other processes and by other projects),
so an outage test cannot stop it. This one is made with ``initdb`` in a folder of its own,
listens on a free port of 127.0.0.1, trusts local connections, and is stopped with
``pg_ctl stop -m fast`` — as an operator's restart does: every connection is cut and new
ones are refused until it is started again. PostgreSQL refuses to run as root; as root the
server runs as the ``postgres`` account (``runuser``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def postgres_binaries() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``createdb``: Debian's newest under
    /usr/lib/postgresql, else wherever PATH has all three."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    found = [shutil.which(program) for program in ("pg_ctl", "initdb", "createdb")]
    if all(found) and len({Path(path).parent for path in found}) == 1:
        return Path(found[0]).parent
    return None


def why_not_available() -> str | None:
    """Why a private server cannot run here, or ``None`` when it can."""
    if postgres_binaries() is None:
        return "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root with no postgres account to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without runuser"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    def __init__(self) -> None:
        self.bin = postgres_binaries()
        # Not under pytest's tmp_path: that folder is root's alone, and the server may run as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="inkwright-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/inkwright"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "inkwright")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)
