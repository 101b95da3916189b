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


class SteppedClock:
    """A monotonic clock that only a wait moves: the transport's time, without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_a_call_stops_retrying_before_its_time_budget_would_pass(server):
    """One budget a call (issue 12): attempts and total time. With waits of 4 s and 8 s
    allowed in all, a second retry (at 8 s, with a second to run) would end past it."""
    server.play(Reply(503, {"error": {"message": "busy"}}, headers={"Retry-After": "4"}))
    clock = SteppedClock()

    with pytest.raises(ExternalServiceError) as caught:
        transport(max_retries=10, call_seconds=8.0, sleep=clock.sleep, monotonic=lambda: clock.now).post_json(
            server.url, {})

    assert clock.waits == [4.0] and len(server.received) == 2
    assert caught.value.details["attempts"] == 2 and caught.value.call_budget_spent is True


def test_each_retried_try_is_noted_for_the_usage_log(server, sleeps):
    from app.call_tries import recording_tries

    server.play(Reply(503, {"error": {"message": "busy"}}), Reply(429, {"error": {"message": "slow"}}),
                Reply(200, {"ok": True}))
    with recording_tries() as tries:
        assert transport(sleeps).post_json(server.url, {}) == {"ok": True}

    assert [(t.code, t.rate_limited) for t in tries] == [("EXTERNAL_SERVICE_ERROR", False),
                                                         ("PROVIDER_RATE_LIMITED", True)]
    assert "HTTP 503" in tries[0].message and "slow" in tries[1].message


def test_every_error_of_a_call_marks_its_budget_spent_but_a_stream_cut_midway(server, sleeps):
    server.play(Reply(400, {"error": {"message": "bad"}}))
    with pytest.raises(ProviderRequestError) as refused:
        transport(sleeps).post_json(server.url, {})
    assert refused.value.call_budget_spent is True

    server.play(Reply(200, events=[sse({"n": 1})], cut=True))
    with pytest.raises(ExternalServiceError) as cut:
        list(transport(sleeps).stream_events(server.url, {}))
    assert cut.value.call_budget_spent is False  # nothing was retried: the step may try again


def test_usage_a_server_reports_is_kept_a_missing_one_estimated_an_impossible_one_refused():
    from app.providers.http import read_usage

    assert read_usage("acme", 12, 8, "prompt", "text") == (12, 8, "reported")
    assert read_usage("acme", None, None, "a" * 40, "b" * 80) == (10, 20, "estimated")
    assert read_usage("acme", 12, None, "p", "b" * 80) == (12, 20, "estimated")
    for bad in ((-1, 8), (12, 2.5), (True, 3), (12, "8")):
        with pytest.raises(ProviderResponseError, match="cannot be real"):
            read_usage("acme", *bad, "p", "t")


def test_a_dropped_connection_says_so_apart_from_one_never_made(server, sleeps):
    """Issue 12: a server cut mid-answer read "Could not reach"; the three now differ."""
    server.play(Reply(200, {"ok": True, "padding": "x" * 200}, cut=True))
    with pytest.raises(ExternalServiceError) as mid_answer:
        transport(sleeps).post_json(server.url, {})
    assert "dropped while it was answering" in mid_answer.value.message
    assert mid_answer.value.details["reason"] == "dropped_while_answering"

    server.play(Reply(200, events=[sse({"n": 1})], cut=True))
    with pytest.raises(ExternalServiceError) as mid_stream:
        list(transport(sleeps).stream_events(server.url, {}))
    assert "dropped while it was answering" in mid_stream.value.message

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ExternalServiceError) as never:
        transport(sleeps, max_retries=0).post_json(f"http://127.0.0.1:{port}/", {})
    assert never.value.message.startswith("Could not connect to acme")
    assert never.value.details["reason"] == "could_not_connect"


def test_a_server_that_hangs_up_before_answering_is_retried_and_named_so(sleeps):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def hang_up() -> None:
        for _ in range(2):
            connection, _ = listener.accept()
            connection.recv(65536)
            connection.close()

    import threading
    threading.Thread(target=hang_up, daemon=True).start()
    with pytest.raises(ExternalServiceError) as caught:
        transport(sleeps, max_retries=1).post_json(f"http://127.0.0.1:{listener.getsockname()[1]}/", {})
    listener.close()

    assert "dropped before it answered (after 2 attempts)" in caught.value.message and len(sleeps) == 1


class HangingServer:
    """A loopback server that takes a request and never answers it (or streams one event and
    stalls), noting when the client hangs up: servers that stop on disconnect stop then."""

    def __init__(self, first_bytes: bytes = b"") -> None:
        import threading

        self.first_bytes = first_bytes
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.hung_up_after: float | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            started = time.monotonic()
            if self.first_bytes:
                connection.sendall(self.first_bytes)
            connection.settimeout(10)
            try:
                while connection.recv(1024):  # b"" once the client closes its end
                    pass
            except (socket.timeout, OSError):
                return
            self.hung_up_after = time.monotonic() - started

    def close(self) -> None:
        self.thread.join(timeout=12)
        self.listener.close()


STALLED_STREAM = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n%s\r\n" % (len(sse({"n": 1})), sse({"n": 1}).encode()))


def test_a_call_that_times_out_closes_its_connection(sleeps):
    """Issue 12: an abandoned request kept a one-at-a-time server generating for 6.9 s. The
    timed-out call hangs up, so a server that stops on disconnect stops."""
    server = HangingServer()
    try:
        with pytest.raises(ProviderTimeoutError):
            transport(sleeps, timeout=0.5).post_json(server.url, {})
    finally:
        server.close()
    assert server.hung_up_after is not None and server.hung_up_after < 2.0


def test_a_stream_that_stalls_past_the_timeout_closes_its_connection(sleeps):
    server = HangingServer(first_bytes=STALLED_STREAM)
    try:
        events = transport(sleeps, timeout=0.5).stream_events(server.url, {})
        assert next(events) == {"n": 1}
        with pytest.raises(ProviderTimeoutError):
            next(events)
    finally:
        server.close()
    assert server.hung_up_after is not None and server.hung_up_after < 2.0


def test_a_stream_its_reader_stops_closes_its_connection(sleeps):
    """A cancelled run stops reading its call's stream: closing the stream hangs up."""
    server = HangingServer(first_bytes=STALLED_STREAM)
    try:
        events = transport(sleeps, timeout=30).stream_events(server.url, {})
        assert next(events) == {"n": 1}
        events.close()
    finally:
        server.close()
    assert server.hung_up_after is not None and server.hung_up_after < 2.0
