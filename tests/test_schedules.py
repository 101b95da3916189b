"""app/schedules.py: what a schedule is, when it is due, and whose schedules count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.errors import ConfigError
from app.plugin_contract import Plugin
from app.schedules import CORE_SCHEDULES, Schedule, all_schedules

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("fields, problem", [
    ({"cron": "every day at noon"}, "is not a cron string"),
    ({"cron": "61 * * * *"}, "is not a cron string"),
    ({"cron": "* * * * *", "interval": 60}, "not both or neither"),
    ({}, "not both or neither"),
    ({"interval": 0}, "at least 1"),
    ({"interval": 1.5}, "whole number"),
    ({"interval": 60, "name": "Bad Name"}, "a name is"),
    ({"interval": 60, "job": "not-dotted"}, "is not a dotted path"),
])
def test_a_malformed_schedule_is_refused_with_what_is_wrong(fields, problem):
    arguments = {"name": "team.digest", "job": "app.jobs.reconcile", **fields}
    with pytest.raises(ConfigError) as refused:
        Schedule(**arguments)
    assert problem in str(refused.value)


def test_a_cron_schedule_is_due_once_however_long_it_was_missed():
    hourly = Schedule("team.hourly", "app.jobs.reconcile", cron="0 * * * *")
    ran = NOON - timedelta(minutes=59)  # 11:01

    assert not hourly.is_due(ran, NOON - timedelta(seconds=1))
    assert hourly.is_due(ran, NOON)
    assert not hourly.is_due(NOON, NOON + timedelta(minutes=30))  # ran at noon: not again this hour
    # Five hours away: due now, and once it ran, not again until the next hour.
    assert hourly.is_due(ran, NOON + timedelta(hours=5, minutes=10))
    assert not hourly.is_due(NOON + timedelta(hours=5, minutes=10), NOON + timedelta(hours=5, minutes=20))
    assert hourly.next_run(NOON, NOON + timedelta(minutes=1)) == NOON + timedelta(hours=1)


def test_an_interval_schedule_runs_at_once_then_every_interval():
    every_minute = Schedule("team.minutely", "app.jobs.reconcile", interval=60)

    assert every_minute.is_due(None, NOON)
    assert not every_minute.is_due(NOON, NOON + timedelta(seconds=59))
    assert every_minute.is_due(NOON, NOON + timedelta(seconds=60))
    assert every_minute.when == "every 60 s"


class Digests(Plugin):
    name = "digests"

    def schedules(self):
        return [Schedule("digests.weekly", "app.jobs.reconcile", cron="0 8 * * 1"),
                Schedule("retention.purge", "app.jobs.reconcile", interval=5),  # taken by the core
                "not a schedule"]


class Broken(Plugin):
    name = "broken"

    def schedules(self):
        raise RuntimeError("boom")


class FakeRegistry:
    def __init__(self, *plugins):
        self.plugins = {plugin.name: plugin for plugin in plugins}


def test_plugins_add_schedules_and_a_broken_or_clashing_one_costs_only_itself(caplog):
    found = {schedule.name: schedule for schedule in all_schedules(FakeRegistry(Broken(), Digests()))}

    assert set(found) == {s.name for s in CORE_SCHEDULES} | {"digests.weekly"}
    assert found["retention.purge"].job == "app.jobs.purge_retained"  # the core's, not the plugin's
    assert "schedules of plugin broken could not be read" in caplog.text
    assert "schedule retention.purge is already declared" in caplog.text
