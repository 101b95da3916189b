"""A worker outlives Redis (issue 11): Redis restarted under a running ``python worker.py``
— or not there yet when it starts — and the same worker process finishes the run."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from app.redis_outage import RedisLossWatch, wait_for_redis
from app.redis_server import find_redis_binary
from app.statuses import RunStatus
from tests.engine.worker_processes import fast_engine_config, wait_until

pytestmark = pytest.mark.timeout(90)


class PrivateRedis:
    """A redis-server on a TCP port of its own, which a test may stop and start again there."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen([find_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, 10, "the private redis answers")

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path, private_redis):
    return {**fast_engine_config(inkwright_config, tmp_path), "REDIS_URL": private_redis.url}


SLOW = """
name: through-outage
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: first
    skill: test.echo
    with: {text: "{{ inputs.topic }}", sleep: 1.0}
  - id: second
    skill: test.echo
    with: {text: "{{ steps.first.output.text }} again", sleep: 0.5}
  - id: third
    skill: test.echo
    with: {text: "{{ steps.second.output.text }} and again"}
"""


@pytest.mark.parametrize("worker_class", ["simple", "threads"])
def test_redis_restarted_under_a_running_worker_keeps_that_worker(app, studio, workers, private_redis, worker_class):
    worker = workers.start(worker_class)
    workers.ready(1)
    run = studio.start(SLOW, topic=f"tides-{uuid.uuid4().hex[:6]}")
    wait_until(lambda: studio.steps(run.id)["first"].status.value == "running", 60, "the first step runs",
               explain=workers.report)

    private_redis.stop()
    time.sleep(2.0)  # a real two-second outage: the worker meets it mid-step and between jobs
    private_redis.start()

    wait_until(lambda: studio.run(run.id).status.is_terminal, 60, "the run ends", explain=workers.report)
    assert studio.run(run.id).status == RunStatus.COMPLETED, workers.report()
    assert worker.poll() is None, workers.report()  # the same process, still working
    assert "Connection refused" in workers.report()  # it did meet the outage (RQ's retry, or ours)


def test_a_worker_started_before_redis_waits_for_it(app, studio, workers, private_redis):
    private_redis.stop()
    worker = workers.start("simple")
    time.sleep(1.5)
    assert worker.poll() is None, workers.report()  # waiting, not exited
    private_redis.start()
    workers.ready(1)
    run = studio.start(SLOW.replace("through-outage", "after-start"), topic="late")
    wait_until(lambda: studio.run(run.id).status.is_terminal, 60, "the run ends", explain=workers.report)
    assert studio.run(run.id).status == RunStatus.COMPLETED


def test_waiting_for_redis_backs_off_and_logs_every_attempt(caplog):
    waits: list[float] = []
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1)  # nothing listens there
    answers = iter([False, False, False, True])

    class Flaky:
        def ping(self):
            if not next(answers):
                client.ping()
            return True

    assert wait_for_redis(Flaky(), sleep=waits.append) == 3
    assert waits == [0.5, 1.0, 2.0]
    assert sum("trying again" in record.getMessage() for record in caplog.records) == 3


def test_the_watch_tells_a_lost_redis_from_another_reason_to_stop():
    watch = RedisLossWatch()
    try:
        raise ValueError("a bug")
    except ValueError:
        watch.emit(logging.LogRecord("rq.worker", logging.ERROR, "", 0, "quitting", (), sys.exc_info()))
    assert not watch.lost
    try:
        raise redis.exceptions.ConnectionError("gone")
    except redis.exceptions.ConnectionError:
        watch.emit(logging.LogRecord("rq.worker", logging.ERROR, "", 0, "quitting", (), sys.exc_info()))
    assert watch.lost
