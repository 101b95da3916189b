"""The queue (app/queue.py): jobs by dotted path, ids only, JSON on the wire; Redis on demand."""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import datetime, timezone

import pytest
import redis

from app.jobs import deliver_event
from app.runtime import current_state


@pytest.fixture
def queue(app):
    return current_state(app).queue()


def test_job_is_stored_as_json_naming_its_function_and_ids(app, queue, inkwright_redis_url):
    event_id = uuid.uuid4()
    with app.app_context():
        job = current_state().enqueue("app.jobs.deliver_event", event_id, 3, job_timeout=30)
    assert queue.job_ids == [job.id]

    raw = redis.Redis.from_url(inkwright_redis_url).hget(f"rq:job:{job.id}", "data")
    payload = zlib.decompress(raw)
    assert not payload.startswith(b"\x80")  # a pickle would start with its protocol byte
    assert json.loads(payload) == ["app.jobs.deliver_event", None, [str(event_id), 3], {}]
    assert queue.fetch_job(job.id).args == [str(event_id), 3]


@pytest.mark.parametrize("argument", [
    object(), {"event": "x"}, ["x"], datetime.now(timezone.utc), b"bytes",
], ids=["object", "dict", "list", "datetime", "bytes"])
def test_an_argument_that_is_not_an_id_or_scalar_is_refused(app, queue, argument):
    with app.app_context(), pytest.raises(TypeError, match="job arguments must be ids or scalars"):
        current_state().enqueue("app.jobs.deliver_event", argument)
    assert queue.count == 0


@pytest.mark.parametrize("function", ["deliver_event", deliver_event, ""], ids=["bare-name", "callable", "empty"])
def test_a_job_must_be_named_by_dotted_path(app, queue, function):
    with app.app_context(), pytest.raises(TypeError, match="enqueue jobs by dotted path"):
        current_state().enqueue(function, str(uuid.uuid4()))
    assert queue.count == 0


def test_jobs_go_on_the_configured_queue(make_app):
    app = make_app(QUEUE_NAME="inkwright-reports")
    with app.app_context():
        job = current_state().enqueue("app.jobs.purge_expired_sessions")
    assert job.origin == "inkwright-reports"
    assert current_state(app).queue().job_ids == [job.id]


def test_without_redis_url_an_embedded_server_starts_on_first_use_and_stops_on_close(make_app):
    connector = current_state(make_app(REDIS_URL="")).redis
    assert connector.is_embedded
    assert connector.embedded is None  # building the app started nothing
    try:
        assert connector.client().ping() is True
        assert connector.url.startswith("unix://")
        folder = connector.embedded.directory
        assert folder.exists()
    finally:
        connector.close()
    assert connector.embedded is None
    assert not folder.exists()
