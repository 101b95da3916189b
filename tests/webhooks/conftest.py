"""Fixtures of the webhook tests: loopback receivers that verify signatures the documented way."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from app.webhooks.receiver import WebhookReceiver, start_receiver


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    """``make_receiver(secret="")`` — a receiver on 127.0.0.1, stopped after the test."""
    started: list[WebhookReceiver] = []

    def make(secret: str = "", path: str = "/hooks/inkwright") -> WebhookReceiver:
        receiver = start_receiver(secret, path)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(make_receiver) -> WebhookReceiver:
    return make_receiver()
