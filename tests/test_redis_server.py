"""The embedded redis-server (app/redis_server.py, app/processes.py): private, and never an orphan."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

from app.redis_server import RedisServer, RedisServerError, find_redis_binary

ROOT = Path(__file__).resolve().parent.parent

# A parent process that starts a server, says which, then waits (or exits at once).
PARENT = textwrap.dedent("""
    import sys, time
    from app.redis_server import RedisServer
    server = RedisServer().start()
    print(server.process.pid, server.directory, flush=True)
    if sys.argv[1] == "wait":
        time.sleep(60)
""")


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def start_parent(mode: str) -> tuple[subprocess.Popen, int, Path]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pid, folder = parent.stdout.readline().split()
    assert "redis-server" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    return parent, int(pid), Path(folder)


@pytest.fixture
def server():
    started = RedisServer().start()
    yield started
    started.stop()


def test_server_listens_only_on_a_private_unix_socket(server):
    assert server.url == f"unix://{server.socket_path}"
    assert stat.S_IMODE(server.directory.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(server.socket_path.stat().st_mode)
    client = redis.Redis.from_url(server.url)
    assert client.ping() is True
    assert client.config_get("port") == {"port": "0"}
    assert client.config_get("save") == {"save": ""}
    client.close()


def test_stop_ends_the_server_and_removes_its_folder(server):
    process, folder = server.process, server.directory
    server.stop()
    assert process.poll() is not None
    assert not folder.exists()
    assert not server.running


def test_a_configured_binary_is_preferred_to_the_one_on_path(tmp_path):
    binary = tmp_path / "my-redis-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert find_redis_binary(str(binary)) == str(binary)


@pytest.mark.parametrize("exists", [True, False], ids=["not-executable", "missing"])
def test_a_configured_binary_that_cannot_run_is_a_clear_error(tmp_path, exists):
    path = tmp_path / "redis-server"
    if exists:
        path.write_text("#!/bin/sh\n")
        path.chmod(0o644)
    with pytest.raises(RedisServerError, match=f"REDIS_SERVER_BINARY {path} is not an executable file"):
        find_redis_binary(str(path))


def test_a_binary_that_exits_at_start_reports_what_it_said(tmp_path):
    binary = tmp_path / "fake-redis"
    binary.write_text("#!/bin/sh\necho 'fatal: this is not redis'\nexit 1\n")
    binary.chmod(0o755)
    embedded = RedisServer(str(binary))
    with pytest.raises(RedisServerError, match="redis-server exited at start: fatal: this is not redis"):
        embedded.start()
    embedded.stop()


def test_server_dies_with_a_parent_killed_by_sigkill():
    parent, pid, folder = start_parent("wait")
    try:
        assert alive(pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=5)
        assert wait_until(lambda: not alive(pid)), f"redis-server {pid} outlived its killed parent"
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)  # atexit never ran in the killed parent


def test_parent_that_exits_normally_leaves_nothing_behind():
    parent, pid, folder = start_parent("exit")
    assert parent.wait(timeout=10) == 0
    assert wait_until(lambda: not alive(pid))
    assert not folder.exists()
