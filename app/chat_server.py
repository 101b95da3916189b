"""A loopback HTTP server that speaks the OpenAI chat-completions protocol, for tests.

Shipped with the pytest plugin (the ``chat_server`` fixture) so a plugin's tests drive its
skills through the real ``openai`` provider and the whole metering path, over real HTTP,
with no network and no key: answers are scripted per test, every request is kept.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion_body(text: str, prompt_tokens: int = 12, completion_tokens: int = 8,
                    model: str = "gpt-4o-mini-2024-07-18") -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


@dataclass
class ChatServer:
    """``replies`` are (status, body) pairs served in order; the last one repeats."""

    replies: list[tuple[int, Any]] = field(default_factory=lambda: [(200, completion_body("A fine answer."))])
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    #: Seconds every answer takes, as a real model's would (benchmarks of waiting workers).
    delay: float = 0.0

    def reply(self, *replies: tuple[int, Any]) -> None:
        self.replies = list(replies)


class _Server(ThreadingHTTPServer):
    # Many callers connect at once (a threads worker's jobs); the default backlog of 5 would
    # make the rest wait for TCP's retransmission.
    request_queue_size = 256
    daemon_threads = True


def start_chat_server() -> tuple[ChatServer, ThreadingHTTPServer]:
    """Serve on 127.0.0.1 (a free port) from a daemon thread; ``server.shutdown()`` stops it."""
    state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append({"path": self.path, "headers": dict(self.headers),
                                   "body": json.loads(self.rfile.read(length) or b"{}")})
            status, body = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            if state.delay:
                time.sleep(state.delay)
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
