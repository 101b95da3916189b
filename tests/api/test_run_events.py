"""A run's live progress as Server-Sent Events (``GET /api/runs/<id>/events``, app/api/runs.py
over app/engine/progress.py): frames in order, the end of a finished run, resuming with
``Last-Event-ID`` or ``?after=``, and reading the stream with a browser session."""

from __future__ import annotations

import json
import re
import time

import pytest

from app.engine.progress import RunEvents
from app.runtime import current_state

SLOW = """\
name: slow
version: "1"
steps:
  - id: first
    skill: test.echo
    with: {text: one, sleep: 0.12}
  - id: second
    skill: test.echo
    needs: [first]
    with: {text: two}
"""
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def frames(body: str) -> list[dict]:
    """The stream's frames, each as its fields (``id``, ``event``, ``data`` parsed from JSON)."""
    parsed = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        frame: dict = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            frame[name] = json.loads(value) if name == "data" else value
        parsed.append(frame)
    return parsed


def events_of(body: str) -> list[dict]:
    return [frame for frame in frames(body) if "event" in frame]


@pytest.fixture
def finished_run(api_client, upload_workflow, start_run, run_jobs) -> dict:
    upload_workflow(api_client, SLOW)
    run = start_run(api_client, "slow")
    run_jobs()
    return run


def stream(client, run_id: str, headers: dict | None = None, **query):
    response = client.get(f"/api/runs/{run_id}/events", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    return response.get_data(as_text=True)


def test_the_stream_without_follow_replays_the_runs_events_in_order(app, api_client, finished_run):
    body = stream(api_client, finished_run["id"], follow="false")

    served = events_of(body)
    with app.app_context():
        stored = RunEvents(current_state().redis.client()).read(finished_run["id"])
    assert [(f["id"], f["event"], f["data"]) for f in served] == stored
    kinds = [f["event"] for f in served]
    assert kinds[0] == "run.running" and kinds[-1] == "run.completed"
    assert kinds.index("step.started") < kinds.index("step.progress") < kinds.index("step.completed")
    assert [f["data"]["step"] for f in served if f["event"] == "step.completed"] == ["first", "second"]
    assert "end" not in kinds
    assert body.startswith("retry: ")


def test_event_ids_only_grow(api_client, finished_run):
    ids = [f["id"] for f in events_of(stream(api_client, finished_run["id"], follow="false"))]

    numbers = [tuple(map(int, i.split("-"))) for i in ids]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_following_a_finished_run_streams_everything_then_ends(api_client, finished_run):
    everything = events_of(stream(api_client, finished_run["id"], follow="false"))

    started = time.monotonic()
    followed = events_of(stream(api_client, finished_run["id"]))

    assert followed[:-1] == everything
    assert followed[-1]["event"] == "end"
    assert time.monotonic() - started < 5, "a finished run's stream should end without waiting for keep-alives"


def test_following_a_live_run_sees_its_events_as_a_worker_makes_them(app, api_client, upload_workflow, start_run,
                                                                     run_jobs):
    upload_workflow(api_client, SLOW)
    run = start_run(api_client, "slow")
    response = api_client.client.get(f"/api/runs/{run['id']}/events", query_string={"keepalive": 1},
                                     headers={"Authorization": f"Bearer {api_client.token}"}, buffered=False)
    chunks = iter(response.response)
    before = ""
    while "step.queued" not in before:  # what happened so far: the run started, its first step queued
        before += next(chunks).decode()

    run_jobs()
    after = "".join(chunk.decode() for chunk in chunks)
    response.close()

    assert "step.started" not in before
    kinds = [f["event"] for f in events_of(after)]
    assert kinds[0] == "step.started" and kinds[-2:] == ["run.completed", "end"]
    assert kinds.count("step.completed") == 2


def test_a_quiet_stream_sends_keep_alives_and_stays_open(api_client, upload_workflow, start_run):
    """Waiting longer than Redis's socket timeout (5 s) between events must not break the stream."""
    upload_workflow(api_client, SLOW)
    run = start_run(api_client, "slow")  # queued, and no worker: nothing more will happen
    response = api_client.client.get(f"/api/runs/{run['id']}/events", query_string={"keepalive": 6},
                                     headers={"Authorization": f"Bearer {api_client.token}"}, buffered=False)

    started, seen = time.monotonic(), ""
    for chunk in response.response:
        seen += chunk.decode() if isinstance(chunk, bytes) else chunk
        if ": keep-alive" in seen:
            break
    response.close()

    assert ": keep-alive" in seen
    assert time.monotonic() - started >= 5.5
    assert [f["event"] for f in events_of(seen)][-1] == "step.queued"


@pytest.mark.parametrize("how", ["header", "query"])
def test_resuming_after_an_event_id_gives_the_rest_without_duplicates(api_client, finished_run, how):
    everything = events_of(stream(api_client, finished_run["id"], follow="false"))
    middle = len(everything) // 2
    last_seen = everything[middle - 1]["id"]

    if how == "header":
        rest = events_of(stream(api_client, finished_run["id"], headers={"Last-Event-ID": last_seen},
                                follow="false"))
    else:
        rest = events_of(stream(api_client, finished_run["id"], follow="false", after=last_seen))

    assert rest == everything[middle:]


def test_resuming_a_followed_stream_after_the_last_event_only_ends_it(api_client, finished_run):
    everything = events_of(stream(api_client, finished_run["id"], follow="false"))

    rest = events_of(stream(api_client, finished_run["id"], headers={"Last-Event-ID": everything[-1]["id"]}))

    assert [f["event"] for f in rest] == ["end"]


def test_a_long_backlog_is_served_whole(app, api_client, finished_run):
    with app.app_context():
        events = RunEvents(current_state().redis.client())
        for number in range(600):
            events.publish(finished_run["id"], "step.progress", step="first", progress=number / 600)
        stored = events.read(finished_run["id"], count=10_000)

    served = events_of(stream(api_client, finished_run["id"], follow="false"))

    assert len(served) == len(stored) > 600
    assert served[-1]["id"] == stored[-1][0]


@pytest.mark.parametrize("header", ["yesterday", "12-x", "-1", "1-2-3"])
def test_a_malformed_last_event_id_is_400(api_client, finished_run, expect_error, header):
    response = api_client.get(f"/api/runs/{finished_run['id']}/events", headers={"Last-Event-ID": header})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert "headers.Last-Event-ID" in error["details"]["fields"]


def test_a_malformed_after_parameter_is_400(api_client, finished_run, expect_error):
    response = api_client.get(f"/api/runs/{finished_run['id']}/events", query_string={"after": "later"})

    error = expect_error(response, 400, "VALIDATION_ERROR")
    assert "query.after" in error["details"]["fields"]


def test_the_stream_needs_credentials(client, finished_run, expect_error):
    expect_error(client.get(f"/api/runs/{finished_run['id']}/events"), 401, "UNAUTHORIZED")


def test_an_unknown_run_is_404_in_the_envelope_before_any_stream(api_client, expect_error):
    response = api_client.get("/api/runs/7d0c8a6e-3b7f-4c86-9a1e-0f5f2a3c9b11/events")

    expect_error(response, 404, "NOT_FOUND")
    assert response.mimetype == "application/json"


@pytest.fixture
def browser(app, user):
    """A test client signed in as ``user`` through the login form, CSRF token and all."""
    client = app.test_client()
    token = CSRF_INPUT.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": user.email, "password": user.password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_a_browser_session_may_read_the_stream(browser, finished_run):
    response = browser.get(f"/api/runs/{finished_run['id']}/events", query_string={"follow": "false"})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    assert events_of(response.get_data(as_text=True))[-1]["event"] == "run.completed"


def test_a_browser_session_cannot_steer_the_run_through_the_api(browser, api_client, upload_workflow, start_run,
                                                                get_run, expect_error):
    upload_workflow(api_client, SLOW)
    run = start_run(api_client, "slow")

    expect_error(browser.post(f"/api/runs/{run['id']}/cancel"), 401, "UNAUTHORIZED")

    assert get_run(api_client, run["id"])["status"] != "cancelled"
