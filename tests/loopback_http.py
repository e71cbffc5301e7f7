"""A real HTTP server on 127.0.0.1 for transport tests: records what arrives, answers what the test scripts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopbackServer:
    port: int
    received: list[Received] = field(default_factory=list)
    status: int = 200
    statuses: list[int] = field(default_factory=list)  # answered first, one per request, before `status`
    answer: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on an ephemeral loopback port in a thread for the duration of the block; the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def loopback_server(
    status: int = 200, answer: Any = None, headers: dict[str, str] | None = None
) -> Iterator[LoopbackServer]:
    """Serve on an ephemeral loopback port in a thread for the duration of the block."""
    state = LoopbackServer(port=0, status=status, answer=answer, headers=dict(headers or {}))

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.received.append(
                Received(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            payload = json.dumps(state.answer).encode() if state.answer is not None else b""
            self.send_response(state.statuses.pop(0) if state.statuses else state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as port:
        state.port = port
        yield state
