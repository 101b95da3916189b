"""The shared HTTP transport against a real loopback server: retries, waits, errors, SSE."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from app.providers.http import HttpTransport
from app.toolkit import (
    ExternalServiceError,
    ProviderAuthError,
    ProviderRateLimitedError,
    ProviderRequestError,
    ProviderResponseError,
    ProviderTimeoutError,
)

from .conftest import Reply, sse

SECRET = "sk-test-secret-key-0123456789"


def transport(sleeps: list[float] | None = None, **options) -> HttpTransport:
    options = {"timeout": 5.0, "max_retries": 3, "max_backoff": 30.0, "secrets": [SECRET], **options}
    if sleeps is not None:
        options["sleep"] = sleeps.append
    return HttpTransport("acme", **options)


def test_a_json_answer_comes_back_parsed(server):
    server.play(Reply(body={"answer": 42}))

    assert transport().post_json(server.url + "/call", {"question": "?"}) == {"answer": 42}
    assert server.received[0].path == "/call" and server.received[0].body == {"question": "?"}


def test_retry_after_in_seconds_is_the_wait_before_the_next_attempt(server, sleeps):
    server.play(Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "2"}), Reply(body={"ok": True}))

    assert transport(sleeps).post_json(server.url, {}) == {"ok": True}
    assert sleeps == [2.0]
    assert len(server.received) == 2


def test_retry_after_as_an_http_date_waits_until_that_moment(server, sleeps):
    moment = datetime.now(timezone.utc) + timedelta(seconds=4)
    server.play(Reply(503, headers={"Retry-After": format_datetime(moment, usegmt=True)}), Reply(body={"ok": True}))

    transport(sleeps).post_json(server.url, {})

    assert len(sleeps) == 1 and 2.5 < sleeps[0] <= 4.0


def test_a_long_retry_after_is_capped_by_max_backoff_in_real_time(server):
    server.play(Reply(429, headers={"Retry-After": "120"}), Reply(body={"ok": True}))

    started = time.monotonic()
    assert transport(max_backoff=0.3).post_json(server.url, {}) == {"ok": True}
    assert 0.3 <= time.monotonic() - started < 2


def test_without_retry_after_the_waits_grow_exponentially_and_stay_under_the_cap(server, sleeps):
    server.play(Reply(503), Reply(502), Reply(500), Reply(body={"ok": True}))

    assert transport(sleeps, backoff=0.5, max_backoff=1.2).post_json(server.url, {}) == {"ok": True}

    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 0.75 and 1.0 <= sleeps[1] <= 1.2 and sleeps[2] == 1.2


def test_server_errors_stop_after_max_retries_with_the_status(server, sleeps):
    server.play(Reply(500, {"error": {"message": "boom"}}))

    with pytest.raises(ExternalServiceError) as caught:
        transport(sleeps, max_retries=2).post_json(server.url, {})

    assert caught.value.code == "EXTERNAL_SERVICE_ERROR"
    assert caught.value.details["status"] == 500 and "boom" in caught.value.message
    assert len(server.received) == 3 and len(sleeps) == 2


def test_rate_limiting_through_every_retry_says_when_to_come_back(server, sleeps):
    server.play(Reply(429, headers={"Retry-After": "7"}))

    with pytest.raises(ProviderRateLimitedError) as caught:
        transport(sleeps, max_retries=1).post_json(server.url, {})

    assert caught.value.code == "PROVIDER_RATE_LIMITED" and caught.value.retry_after == 7.0
    assert len(server.received) == 2


def test_a_refused_connection_is_retried_then_reported(sleeps):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ExternalServiceError) as caught:
        transport(sleeps, max_retries=2).post_json(f"http://127.0.0.1:{port}/", {})

    assert caught.value.code == "EXTERNAL_SERVICE_ERROR" and len(sleeps) == 2


def test_a_slow_server_is_a_timeout_without_retries(server, sleeps):
    server.play(Reply(delay=1.0, body={"late": True}))

    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as caught:
        transport(sleeps, timeout=0.2).post_json(server.url, {})

    assert caught.value.code == "PROVIDER_TIMEOUT"
    assert time.monotonic() - started < 0.9 and sleeps == [] and len(server.received) == 1


def test_a_body_that_is_not_json_is_a_bad_response(server):
    server.play(Reply(body="<html>gateway</html>"))

    with pytest.raises(ProviderResponseError) as caught:
        transport().post_json(server.url, {})

    assert caught.value.code == "PROVIDER_BAD_RESPONSE"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_not_retried(server, sleeps, status):
    server.play(Reply(status, {"error": {"message": f"Incorrect API key provided: {SECRET}"}}))

    with pytest.raises(ProviderAuthError) as caught:
        transport(sleeps).post_json(server.url, {})

    assert caught.value.code == "PROVIDER_AUTH_FAILED" and len(server.received) == 1 and sleeps == []
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.details)


def test_a_rejected_request_carries_the_providers_reason_without_the_key(server):
    server.play(Reply(400, {"error": {"message": f"max_tokens is too large (key {SECRET[:-4]}abcd)"}}))

    with pytest.raises(ProviderRequestError) as caught:
        transport().post_json(server.url, {})

    assert "max_tokens is too large" in caught.value.message
    assert SECRET[:-4] not in caught.value.message and len(server.received) == 1


def test_server_sent_events_arrive_in_order_up_to_done(server):
    server.play(Reply(events=[": keep-alive\n\n", sse({"n": 1}), "data: {\"n\":\ndata: 2}\n\n", sse("[DONE]"),
                           sse({"n": 3})]))

    events = list(transport().stream_events(server.url, {"stream": True}))

    assert events == [{"n": 1}, {"n": 2}]


def test_a_stream_is_retried_until_it_starts(server, sleeps):
    server.play(Reply(503), Reply(events=[sse({"n": 1})]))

    assert list(transport(sleeps).stream_events(server.url, {})) == [{"n": 1}]
    assert len(sleeps) == 1


def test_a_streamed_event_that_is_not_json_is_a_bad_response(server):
    server.play(Reply(events=[sse({"n": 1}), "data: {oops\n\n"]))

    events = transport().stream_events(server.url, {})
    assert next(events) == {"n": 1}
    with pytest.raises(ProviderResponseError):
        next(events)
