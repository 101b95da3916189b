"""A real HTTP server on 127.0.0.1 that plays scripted replies, for the HTTP providers' tests.

No mock of ``requests``: the providers talk HTTP over loopback to a server that answers
what each test scripts (a status, headers, a JSON or raw body, a delay, a stream of
server-sent events) and records every request it receives.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest


@dataclass
class Reply:
    """One scripted answer. ``body`` that is not bytes or str is sent as JSON."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    events: list[str] | None = None  # server-sent events, each written and flushed on its own
    event_gap: float = 0.0
    #: Hang up mid-answer: after the events (or half the body), with the answer unfinished.
    cut: bool = False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event carrying ``data`` (JSON unless a str)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


class ScriptedServer:
    """Plays its script in order; the last reply repeats once the script runs out."""

    def __init__(self) -> None:
        self.script: list[Reply] = [Reply(body={})]
        self.received: list[Received] = []
        self._lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 for chunked event streams, as the real APIs send them; one request a connection.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                reply = scripted._next(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(reply.delay)
                payload = reply.body
                if reply.events is not None:
                    content_type = "text/event-stream"
                elif isinstance(payload, (bytes, str)):
                    content_type = "text/plain"
                else:
                    content_type, payload = "application/json", json.dumps(payload)
                if isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(reply.status)
                headers = {"Content-Type": content_type, "Connection": "close", **reply.headers}
                if reply.events is None:
                    headers["Content-Length"] = str(len(payload or b""))
                else:
                    headers["Transfer-Encoding"] = "chunked"
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.events is None:
                    payload = payload or b""
                    self.wfile.write(payload[:len(payload) // 2] if reply.cut else payload)
                    self.close_connection = True
                    return
                for event in reply.events:
                    data = event.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    time.sleep(reply.event_gap)
                if reply.cut:
                    self.wfile.write(b"400\r\npartial")  # a chunk promised and never sent whole
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args: Any) -> None:
                pass  # keep the test output clean

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is what some tests want

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def play(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        self.script = list(replies)

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A fresh scripted HTTP server on a free loopback port, stopped after the test."""
    fake = ScriptedServer()
    thread = threading.Thread(target=fake.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a transport asked for; pass ``sleeps.append`` as its sleep so tests don't wait."""
    return []
