"""A loopback webhook receiver that checks signatures the documented way, for tests and benchmarks.

Every request is kept with whether :func:`~app.webhooks.signing.verify_webhook_signature`
accepted it; answers are scripted: a status, a delay, a redirect, or a huge body sent
slowly (what a hostile receiver does to hold a worker).

``python -m app.webhooks.receiver [--delay S]`` answers 200 from a process of its own and
prints its URL, so a benchmark's receivers take no time from the worker it measures.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify_webhook_signature


@dataclass(frozen=True)
class Answer:
    """How the receiver answers one request.

    :param drip: with ``status`` 200, send ``drip`` bytes every ``drip_every`` seconds, with
        a Content-Length of 100 MB, until the client goes away.
    """

    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    location: str | None = None
    drip: int = 0
    drip_every: float = 0.05


@dataclass
class ReceivedDelivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def delivery_id(self) -> str | None:
        return self.headers.get(DELIVERY_HEADER)

    @property
    def event_type(self) -> str | None:
        return self.headers.get(EVENT_HEADER)


@dataclass
class WebhookReceiver:
    """``answers`` are served in order, the last one repeating; ``secret`` verifies signatures."""

    secret: str = ""
    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    received: list[ReceivedDelivery] = field(default_factory=list)
    url: str = ""
    port: int = 0
    keep_requests: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.answers = list(answers)

    def next_answer(self) -> Answer:
        with self._lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def keep(self, delivery: ReceivedDelivery) -> None:
        if self.keep_requests:
            with self._lock:
                self.received.append(delivery)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a fan-out connects many times at once
    daemon_threads = True


def start_receiver(secret: str = "", path: str = "/hooks/inkwright") -> WebhookReceiver:
    """Serve on 127.0.0.1 (a free port) from a daemon thread; ``receiver.stop()`` ends it."""
    state = WebhookReceiver(secret=secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            verified = bool(state.secret) and verify_webhook_signature(
                body, self.headers.get(SIGNATURE_HEADER, ""), state.secret)
            state.keep(ReceivedDelivery(self.path, dict(self.headers), body, verified))
            answer = state.next_answer()
            if answer.delay:
                time.sleep(answer.delay)
            try:
                if answer.drip:
                    self.send_response(answer.status)
                    self.send_header("Content-Length", str(100 * 1024 * 1024))
                    self.end_headers()
                    while True:  # until the client hangs up
                        self.wfile.write(b"x" * answer.drip)
                        self.wfile.flush()
                        time.sleep(answer.drip_every)
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("Location", answer.location)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}{path}"
    state._server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Receive webhooks on loopback until stdin closes.")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every answer takes")
    args = parser.parse_args(argv)
    receiver = start_receiver()
    receiver.keep_requests = False
    receiver.answer(Answer(delay=args.delay))
    print(receiver.url, flush=True)
    sys.stdin.read()  # the parent closing our stdin (or dying) stops the server
    receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
