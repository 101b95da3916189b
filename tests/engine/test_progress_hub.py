"""app/engine/progress_hub.py: one reader per process for every watched run, on a real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis

from app.engine.progress import RunEvents
from app.engine.progress_hub import ProgressHub


@pytest.fixture
def client(inkwright_redis_url):
    connection = redis.Redis.from_url(inkwright_redis_url)
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def hub(inkwright_redis_url):
    reader = ProgressHub(lambda: redis.Redis.from_url(inkwright_redis_url), block_ms=200)
    yield reader
    reader.close()


def collect(watcher, count: int, timeout: float = 5.0) -> list:
    """The watcher's next ``count`` events (fails when they do not come in time)."""
    got: list = []
    while len(got) < count:
        batch = watcher.next(timeout=timeout)
        assert batch, f"only {len(got)} of {count} events arrived"
        got += batch
    return got


def connections_to_this_database(client):
    """Clients of this test's Redis database: other test processes share the server, each on
    a database of its own, and connect and disconnect meanwhile."""
    database = str(client.connection_pool.connection_kwargs.get("db", 0))
    return sum(1 for connection in client.client_list() if connection.get("db") == database)


def test_fifty_watchers_of_five_runs_each_get_their_runs_events_in_order_over_one_connection(client, hub):
    events = RunEvents(client)
    runs = [uuid.uuid4() for _ in range(5)]
    before = connections_to_this_database(client)
    watchers = {run: [hub.watch(run, "0") for _ in range(10)] for run in runs}
    for number in range(6):
        events.publish_many([(run, "step.completed", {"run": str(run), "n": number}) for run in runs])

    for run, group in watchers.items():
        for watcher in group:
            got = collect(watcher, 6)
            assert [data for _id, _kind, data in got] == [{"run": str(run), "n": n} for n in range(6)]
    # The test's own client and the hub's one reader: no connection per watcher.
    assert connections_to_this_database(client) - before <= 1
    assert hub.watching == 50


def test_a_watcher_gets_only_what_came_after_its_cursor(client, hub):
    events = RunEvents(client)
    run = uuid.uuid4()
    events.publish(run, "step.started", n=1)
    events.publish(run, "step.completed", n=2)
    seen = events.read(run)
    watcher = hub.watch(run, seen[0][0])  # it has read the first event already
    events.publish(run, "run.completed", n=3)

    got = collect(watcher, 2)
    assert [data["n"] for _id, _kind, data in got] == [2, 3]
    assert watcher.next(timeout=0.3) == []


def test_a_watcher_that_leaves_gets_nothing_more_and_an_idle_hub_stops_reading(client, hub):
    events = RunEvents(client)
    run = uuid.uuid4()
    watcher = hub.watch(run, "0")
    events.publish(run, "step.started", n=1)
    assert len(collect(watcher, 1)) == 1
    hub.unwatch(watcher)
    assert hub.watching == 0

    events.publish(run, "step.completed", n=2)
    assert watcher.next(timeout=0.5) == []
    reads = hub.reads
    assert watcher.next(timeout=0.6) == [] and hub.reads <= reads + 1  # at most the read under way


def test_a_late_watcher_of_the_same_run_does_not_hold_back_an_earlier_one(client, hub):
    events = RunEvents(client)
    run = uuid.uuid4()
    early = hub.watch(run, "0")
    events.publish(run, "step.started", n=1)
    assert len(collect(early, 1)) == 1
    late = hub.watch(run, "0")  # starts from the beginning: the hub reads from the earliest cursor
    events.publish(run, "step.completed", n=2)

    assert [data["n"] for _id, _kind, data in collect(late, 2)] == [1, 2]
    assert [data["n"] for _id, _kind, data in collect(early, 1)] == [2]  # never the first one twice


class ArrivingWhileWatched:
    """A hub for one watcher: while the stream waits, the run's ending and one more event
    arrive; the hub has queued both but hands out only the ending this time (its cursor is
    already past the second): the moment a stream sees its run end."""

    def __init__(self, events: RunEvents, run) -> None:
        self.events, self.run = events, run

    def watch(self, run_id, after):
        hub = self

        class Watching:
            cursor = after

            def next(self, timeout):
                hub.events.publish(hub.run, "run.completed", n=2)
                hub.events.publish(hub.run, "run.note", n=3)
                ending, later = hub.events.read(hub.run, after)
                self.cursor = later[0]
                return [ending]
        return Watching()

    def unwatch(self, watcher) -> None:
        pass


def test_a_stream_ending_on_its_runs_end_still_sends_what_came_after_it(client):
    events = RunEvents(client)
    run = uuid.uuid4()
    events.publish(run, "step.completed", n=1)
    answers = iter([False])  # not finished when it starts watching, finished after

    seen = [data["n"] for _id, _kind, data in events.follow(run, "0", lambda: next(answers, True),
                                                              ArrivingWhileWatched(events, run))]
    assert seen == [1, 2, 3]
