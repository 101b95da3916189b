"""A real studio process on a free loopback port, and a real headless Chromium to drive it.

The studio is started the way the README starts it (``flask inkwright studio``), so it
migrates its own fresh database and runs its own worker; Chromium is Debian's, never a
downloaded one (shared/FACTS.md).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import redis
import requests

from app.processes import die_with_parent

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium floods a closed network with refused
# connections (shared/FACTS.md).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 30
#: The password every test's person signs up with.
PASSWORD = "a long enough password"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _studio_environment(database_url: str, redis_url: str, instance: Path, base_url: str) -> dict[str, str]:
    # Only this test's settings: an INKWRIGHT_* variable of the developer's must not leak in.
    env = {key: value for key, value in os.environ.items() if not key.startswith("INKWRIGHT_")}
    env.update({
        "INKWRIGHT_DATABASE_URL": database_url,
        "INKWRIGHT_REDIS_URL": redis_url,
        "INKWRIGHT_SECRET_KEY": "inkwright-e2e-secret-key-that-is-long-enough",
        "INKWRIGHT_PASSWORD_HASH_TIME_COST": "1",
        "INKWRIGHT_PASSWORD_HASH_MEMORY_KIB": "8",
        "INKWRIGHT_INSTANCE_PATH": str(instance),
        "INKWRIGHT_EXTERNAL_URL": base_url,
        "INKWRIGHT_LOG_LEVEL": "WARNING",
        # A queue of its own: should the studio's worker outlive the test by a moment, it
        # must not take the jobs of the tests that follow on the same Redis.
        "INKWRIGHT_QUEUE_NAME": f"e2e-{base_url.rsplit(':', 1)[-1]}",
    })
    return env


def _wait_until_healthy(process: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the studio exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the studio did not answer /healthz within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM ends the studio as Ctrl-C does: it stops its worker and exits."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def studio_settings() -> dict[str, str]:
    """More ``INKWRIGHT_*`` settings for the studio; a test module overrides this fixture."""
    return {}


@pytest.fixture
def studio_url(fresh_database_url: str, inkwright_redis_url: str, tmp_path: Path,
               studio_settings: dict[str, str]) -> Iterator[str]:
    """Serve ``flask inkwright studio`` (web + one worker) on a fresh database; yield its URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "studio.log"
    command = [sys.executable, "-m", "flask", "--app", "app:create_app", "inkwright", "studio",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {**_studio_environment(fresh_database_url, inkwright_redis_url, tmp_path / "instance", base_url),
           **studio_settings}
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   preexec_fn=die_with_parent())
    try:
        _wait_until_healthy(process, base_url, log)
        yield base_url
    finally:
        _stop(process)
        # The studio's login counts and worker records must not reach the next test.
        client = redis.Redis.from_url(inkwright_redis_url)
        client.flushdb()
        client.close()


@pytest.fixture
def page(tmp_path: Path):
    """A page in a fresh headless Chromium (skipped where Debian's chromium is absent)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.set_default_timeout(10_000)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


@pytest.fixture
def sign_up(page, studio_url: str):
    """``sign_up(name, email)``: register through the form and land on the dashboard."""
    def register(name: str, email: str) -> None:
        page.goto(f"{studio_url}/register")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{studio_url}/")
    return register
