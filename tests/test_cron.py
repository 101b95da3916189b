"""app/cron.py: the schedules run once across every worker that could run them, through RQ's
CronJob on Inkwright's queue; a leader that stops is replaced; missed runs run once. A real
Redis, a clock moved by hand."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import redis

from app.clock import ManualClock
from app.cron import LAST_RUNS_KEY, LEASE_SECONDS, ScheduleRunner
from app.queue import make_queue
from app.schedules import Schedule

START = datetime(2026, 12, 4, 11, 59, 30, tzinfo=timezone.utc)
SCHEDULES = (Schedule("test.hourly", "app.jobs.reconcile", cron="0 * * * *"),
             Schedule("test.minutely", "app.jobs.purge_expired_sessions", interval=60))


@pytest.fixture
def connection(inkwright_redis_url):
    client = redis.Redis.from_url(inkwright_redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def runners(connection, clock, count=3):
    return [ScheduleRunner(connection, SCHEDULES, "cron-test", clock, name=f"worker-{n}") for n in range(count)]


def queued(connection) -> list[str]:
    queue = make_queue(connection, "cron-test")
    return [job.func_name for job in queue.get_jobs()]


def test_three_workers_run_each_schedule_once(connection):
    clock = ManualClock(START)
    three = runners(connection, clock)

    for _minute in range(181):  # three hours, every runner ticking every minute
        for runner in three:
            runner.tick()
        clock.advance(60)

    jobs = queued(connection)
    assert jobs.count("app.jobs.reconcile") == 3  # 12:00, 13:00, 14:00
    assert jobs.count("app.jobs.purge_expired_sessions") == 181  # at once, then every minute
    assert ScheduleRunner.leader(connection) == "worker-0"


def test_when_the_leader_stops_another_takes_over_after_its_lease(connection):
    clock = ManualClock(START)
    first, second, _third = runners(connection, clock)
    assert first.tick() == ["test.minutely"]
    assert second.tick() == []

    clock.advance(LEASE_SECONDS - 1)  # the leader is gone, but its lease holds
    assert second.tick() == []
    clock.advance(2)  # 12:00:01: the new leader runs what is due since the last run
    assert second.tick() == ["test.hourly"]
    assert ScheduleRunner.leader(connection) == "worker-1"
    assert first.tick() == []  # back, it stands by


def test_missed_runs_after_downtime_run_once(connection):
    clock = ManualClock(START)
    runner = runners(connection, clock, 1)[0]
    runner.tick()
    clock.advance(5 * 3600)  # every worker down for five hours

    assert sorted(runner.tick()) == ["test.hourly", "test.minutely"]
    assert runner.tick() == []
    assert queued(connection).count("app.jobs.reconcile") == 1


def test_the_jobs_are_rqs_cron_jobs_and_a_worker_can_run_them(connection):
    clock = ManualClock(START)
    runner = runners(connection, clock, 1)[0]
    runner.tick()

    [job] = make_queue(connection, "cron-test").get_jobs()
    assert job.func_name == "app.jobs.purge_expired_sessions" and job.timeout == 600
    assert [j.name for j in runner.get_jobs()] == ["test.hourly", "test.minutely"]
    assert runner.get_jobs()[1].get_job_ids(connection) == [job.id]  # RQ's cron history
    last = ScheduleRunner.last_runs(connection)
    assert last["test.minutely"] == START and last["test.hourly"] == START  # the cron one waits for 12:00
    assert connection.hlen(LAST_RUNS_KEY) == 2


def test_a_schedule_naming_a_missing_job_fails_when_the_runner_starts(connection):
    with pytest.raises((ImportError, AttributeError, ValueError)):
        ScheduleRunner(connection, [Schedule("test.gone", "app.jobs.no_such_job", interval=5)], "cron-test",
                       ManualClock(START))
