"""app/webhooks/delivery.py: one POST, to the checked address, bounded in time and size, no redirects."""

from __future__ import annotations

import socket
import time

from app.webhooks.address_guard import parse_target
from app.webhooks.delivery import MAX_RESPONSE_BYTES, RESPONSE_BODY_KEPT, post_delivery
from app.webhooks.receiver import Answer
from app.webhooks.signing import new_secret, signature_header

BODY = b'{"type":"webhook.test"}'


def send(url: str, addresses=("127.0.0.1",), read_timeout: float = 2.0, headers=None):
    return post_delivery(parse_target(url), list(addresses), BODY, headers or {}, connect_timeout=1.0,
                         read_timeout=read_timeout)


def test_a_2xx_answer_is_a_delivery_with_its_status_body_and_time(make_receiver):
    secret = new_secret()
    receiver = make_receiver(secret)
    receiver.answer(Answer(status=202, body=b"thanks"))

    outcome = send(receiver.url, headers={"Inkwright-Signature": signature_header(BODY, secret, int(time.time()))})

    assert outcome.delivered and (outcome.status_code, outcome.body, outcome.error) == (202, "thanks", None)
    assert outcome.elapsed_ms >= 0
    [got] = receiver.received
    assert got.body == BODY and got.verified and got.path == "/hooks/inkwright"
    assert got.headers["Content-Type"] == "application/json"


def test_the_connection_goes_to_the_checked_address_and_the_name_travels_only_as_host(receiver):
    # receiver.test resolves nowhere: only the address the guard handed over is dialled.
    outcome = send(f"http://receiver.test:{receiver.port}/hooks/inkwright", addresses=["127.0.0.1"])

    assert outcome.delivered, outcome
    assert receiver.received[0].headers["Host"] == f"receiver.test:{receiver.port}"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(make_receiver):
    elsewhere, receiver = make_receiver(), make_receiver()
    receiver.answer(Answer(status=307, location=elsewhere.url))

    outcome = send(receiver.url)

    assert not outcome.delivered and outcome.status_code == 307
    assert "redirect" in outcome.error and "not followed" in outcome.error
    assert elsewhere.received == []


def test_a_receiver_that_does_not_answer_in_time_is_given_up_on(receiver):
    receiver.answer(Answer(delay=3.0))
    started = time.monotonic()

    outcome = send(receiver.url, read_timeout=0.3)

    assert time.monotonic() - started < 1.5
    assert not outcome.delivered and outcome.status_code is None and "timed out" in outcome.error.lower()


def test_a_huge_answer_is_read_only_up_to_the_cap(receiver):
    receiver.answer(Answer(drip=64 * 1024, drip_every=0.01))
    started = time.monotonic()

    outcome = send(receiver.url, read_timeout=2.0)

    assert time.monotonic() - started < 1.5
    assert outcome.status_code == 200 and len(outcome.body) == RESPONSE_BODY_KEPT < MAX_RESPONSE_BYTES


def test_an_answer_sent_slowly_is_read_no_longer_than_the_read_timeout(receiver):
    receiver.answer(Answer(drip=10, drip_every=0.1))
    started = time.monotonic()

    outcome = send(receiver.url, read_timeout=0.5)

    assert time.monotonic() - started < 1.2
    assert outcome.status_code == 200 and 0 < len(outcome.body) < 200


def test_an_error_status_is_a_failed_attempt_with_the_answer_kept(receiver):
    receiver.answer(Answer(status=500, body=b"boom" * 1000))

    outcome = send(receiver.url)

    assert not outcome.delivered and outcome.status_code == 500 and outcome.error == "the receiver answered 500"
    assert outcome.body == ("boom" * 1000)[:RESPONSE_BODY_KEPT]


def test_nobody_listening_is_a_failed_attempt_not_an_exception():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = send(f"http://127.0.0.1:{port}/")

    assert not outcome.delivered and outcome.status_code is None and "could not connect" in outcome.error
