"""A loopback HTTP server that speaks the OpenAI chat-completions protocol, for tests.

Shipped with the pytest plugin (the ``chat_server`` fixture) so a plugin's tests drive its
skills through the real ``openai`` provider and the whole metering path, over real HTTP,
with no network and no key: answers are scripted per test, every request is kept.

``python -m app.chat_server [--delay S] [--text T]`` serves one answer from a process of
its own and prints its URL, so a benchmark's model server takes no time from the worker it
measures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
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
    #: Whether requests are kept for a test to read (a long benchmark turns it off).
    keep_requests: bool = True

    def reply(self, *replies: tuple[int, Any]) -> None:
        self.replies = list(replies)


class _Server(ThreadingHTTPServer):
    # Many callers connect at once (a threads worker's jobs); the default backlog of 5 would
    # make the rest wait for TCP's retransmission.
    request_queue_size = 256
    daemon_threads = True


def stream_events(body: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """A chat.completion ``body`` as the chat.completion.chunk events that stream it."""
    choice = (body.get("choices") or [{}])[0]
    text = str((choice.get("message") or {}).get("content") or "")
    base = {"id": body.get("id", "chatcmpl-1"), "object": "chat.completion.chunk", "model": body.get("model")}
    words = re.findall(r"\s*\S+\s*", text) or [""]
    events = [{**base, "choices": [{"index": 0, "delta": {"content": "".join(words[i:i + 3])},
                                    "finish_reason": None}]} for i in range(0, len(words), 3)]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")
                                        or "stop"}]})
    if include_usage and body.get("usage") is not None:
        events.append({**base, "choices": [], "usage": body["usage"]})
    return events


def start_chat_server() -> tuple[ChatServer, ThreadingHTTPServer]:
    """Serve on 127.0.0.1 (a free port) from a daemon thread; ``server.shutdown()`` stops it."""
    state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body_text = self.rfile.read(length)
            if state.keep_requests:
                state.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": json.loads(body_text or b"{}")})
            status, body = state.replies.pop(0) if len(state.replies) > 1 else state.replies[0]
            if state.delay:
                time.sleep(state.delay)
            asked = json.loads(body_text or b"{}")
            if status == 200 and isinstance(body, dict) and isinstance(asked, dict) and asked.get("stream"):
                self.stream(body, include_usage=bool((asked.get("stream_options") or {}).get("include_usage")))
                return
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def stream(self, body: dict[str, Any], include_usage: bool) -> None:
            """The reply as OpenAI streams it: the content a few words an event, the finish
            reason, the usage when asked for (and the reply has it), then ``[DONE]``."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in stream_events(body, include_usage):
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve OpenAI chat completions on loopback until stdin closes.")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every answer takes")
    parser.add_argument("--text", default="The tide turns at dusk.", help="the answer's text")
    args = parser.parse_args(argv)
    state, server = start_chat_server()
    state.delay, state.keep_requests = args.delay, False
    state.reply((200, completion_body(args.text)))
    print(state.url, flush=True)
    sys.stdin.read()  # the parent closing our stdin (or dying) stops the server
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
