"""An XCover + XClaim double on 127.0.0.1 with switchable faults, keeping the ledger the load test checks.

It answers the calls plugin/insurers/xcover.py and xclaim.py make (quote, book, file a claim, claim status), with
XCover's idempotency: a repeat of an `x-idempotency-key` answers 409 with the stored answer, never a second
booking. Faults (`mode`) are what a real insurer does on a bad day. While a mode is on it hits a random
`fault_share` of the calls (so some purchases get their quote and lose the booking's answer), and the request is
*processed* first, so the shop never knows whether it bought cover:

- `normal`: answers in `latency` seconds;
- `hang`: answers after `hang_seconds` (beyond the adapter's 20 s read timeout), to nobody;
- `garbage`: 200 with an HTML body;
- `reset`: the connection is reset (RST) instead of answered.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("normal", "hang", "garbage", "reset")
PARTNER = "LOADMIX"


@dataclass
class InsurerDouble:
    """The double's switch and its ledger (everything under `lock`)."""

    port: int = 0
    mode: str = "normal"
    latency: float = 0.005
    hang_seconds: float = 21.0
    fault_share: float = 0.5
    seed: int = 12
    replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # by idempotency key
    packages: dict[str, str] = field(default_factory=dict)  # package id -> our policy id (the quote's reference)
    bookings: list[tuple[str, str, str]] = field(default_factory=list)  # (policy id, package id, key), first time only
    claims: list[tuple[str, str]] = field(default_factory=list)  # (claim reference, key), first time only
    calls: Counter = field(default_factory=Counter)  # (how it was answered, operation) -> count
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def switch(self, mode: str) -> None:
        assert mode in MODES
        self.mode = mode

    def bookings_by_policy(self) -> dict[str, set[str]]:
        """Each policy id -> the distinct packages booked for it."""
        with self.lock:
            booked: dict[str, set[str]] = {}
            for policy_id, package, _ in self.bookings:
                booked.setdefault(policy_id, set()).add(package)
            return booked


_ids = itertools.count(1)


def _operation(method: str, path: str) -> str:
    if method == "POST" and path.startswith(f"/xcover/partners/{PARTNER}/quotes"):
        return "quote"
    if method == "POST" and path.startswith(f"/xcover/partners/{PARTNER}/bookings/"):
        return "book"
    if method == "POST" and path.startswith(f"/xclaim/partners/{PARTNER}/claims"):
        return "claim"
    if method == "GET" and path.startswith(f"/xclaim/partners/{PARTNER}/claims/"):
        return "claim_status"
    return "unknown"


def _process(state: InsurerDouble, operation: str, path: str, key: str | None, body: Any) -> tuple[int, Any]:
    """What the insurer does and answers (a replayed key: 409 and the first answer, nothing done again)."""
    with state.lock:
        if key and key in state.replies:
            return 409, state.replies[key][1]
        if operation == "quote":
            reference = str((body.get("request") or [{}])[0].get("reference") or "")
            package = f"PKG{next(_ids):06d}-INS"
            state.packages[package] = reference
            status, answer = 201, {
                "id": package, "status": "RECEIVED", "total_price": "1.25", "currency": body.get("currency", "USD"),
                "quotes": [{"id": f"q-{package}", "price": "1.25", "policy": {"policy_name": "Parcel"}}],
            }  # fmt: skip
        elif operation == "book":
            package = path.rstrip("/").rsplit("/", 1)[-1]
            if package not in state.packages:
                return 404, {"message": f"no package {package}"}
            state.bookings.append((state.packages[package], package, key or ""))
            status, answer = 200, {"id": package, "status": "CONFIRMED", "total_price": "1.25", "currency": "USD",
                                   "quotes": [{"id": f"q-{package}"}]}  # fmt: skip
        elif operation == "claim":
            reference = f"CLM{next(_ids):06d}"
            state.claims.append((reference, key or ""))
            status, answer = 201, {"claimReference": reference, "status": "SUBMITTED"}
        elif operation == "claim_status":
            return 200, {"claimReference": path.rstrip("/").rsplit("/", 1)[-1], "status": "IN_REVIEW"}
        else:
            return 404, {"message": "not found"}
        if key:
            state.replies[key] = (status, answer)
        return status, answer


@contextmanager
def insurer_double(**settings: Any) -> Iterator[InsurerDouble]:
    """Serve the double on an ephemeral loopback port (a thread per connection) for the duration of the block."""
    state = InsurerDouble(**settings)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            operation = _operation(self.command, self.path)
            with state.lock:
                mode = state.mode if state.rng.random() < state.fault_share else "normal"
                state.calls[(mode, operation)] += 1
            if not self.headers.get("X-Api-Key") and not self.headers.get("Authorization"):
                self._send(401, {"message": "no credentials"})
                return
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                self._send(400, {"message": "not JSON"})
                return
            status, answer = _process(state, operation, self.path, self.headers.get("x-idempotency-key"), body)
            if mode == "hang":
                time.sleep(state.hang_seconds)  # the caller has given up by now
            elif mode == "reset":
                # SO_LINGER 0: close() sends RST, the client sees "connection reset by peer".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            elif mode == "garbage":
                self._send(200, None, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            else:
                time.sleep(state.latency)
            self._send(status, answer)

        def _send(self, status: int, answer: Any, raw: bytes | None = None, kind: str = "application/json") -> None:
            payload = raw if raw is not None else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                self.close_connection = True  # the caller hung up (after its timeout)

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a reset or a caller gone after a hang is the point, not an error

    server = Server(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
