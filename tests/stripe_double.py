"""A Stripe double on 127.0.0.1 for the Refunds API: idempotent by `Idempotency-Key` as Stripe is, with a
charge balance per PaymentIntent, and scriptable faults (an answer lost after the refund was made)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback_http import serving


@dataclass
class RefundRequest:
    path: str
    idempotency_key: str | None
    authorization: str | None
    form: dict[str, str]
    at: float


@dataclass
class StripeDouble:
    port: int = 0
    charge_amount: int = 51000  # every PaymentIntent's charge, unless `charges` names it
    charges: dict[str, int] = field(default_factory=dict)
    refund_status: str = "succeeded"  # what a new refund reports
    drop_answers: int = 0  # this many next POSTs are processed, then the connection is dropped unanswered
    fail_with: tuple[int, dict[str, Any]] | None = None  # answer every POST with this (status, error)
    on_request: Callable[[RefundRequest], None] | None = None
    requests: list[RefundRequest] = field(default_factory=list)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refunded(self, intent: str) -> int:
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent)


_ids = itertools.count(1)


def _form(raw: bytes) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(raw.decode(), keep_blank_values=True).items()}


@contextmanager
def stripe_double(**settings: Any) -> Iterator[StripeDouble]:
    """Serve the double on an ephemeral loopback port for the duration of the block."""
    state = StripeDouble(**settings)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            with state.lock:
                data = [r for r in state.refunds.values() if r["payment_intent"] == query.get("payment_intent")]
            self._send(200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = RefundRequest(
                self.path,
                self.headers.get("Idempotency-Key"),
                self.headers.get("Authorization"),
                _form(self.rfile.read(length)),
                time.monotonic(),
            )
            state.requests.append(request)
            if state.on_request is not None:
                state.on_request(request)
            if state.fail_with is not None:
                self._send(*state.fail_with)
                return
            with state.lock:
                key = request.idempotency_key or f"auto-{next(_ids)}"
                refund = state.refunds.get(key)
                if refund is None:
                    intent = request.form.get("payment_intent") or request.form.get("charge") or ""
                    amount = int(request.form.get("amount") or 0)
                    balance = state.charges.get(intent, state.charge_amount) - state.refunded(intent)
                    if amount > balance:
                        error = {
                            "type": "invalid_request_error",
                            "code": "charge_already_refunded" if balance <= 0 else "amount_too_large",
                            "message": f"Refund amount ({amount}) is greater than unrefunded amount ({balance}).",
                            "param": "amount",
                        }
                        self._send(400, {"error": error})
                        return
                    metadata = {k[9:-1]: v for k, v in request.form.items() if k.startswith("metadata[")}
                    refund = {
                        "id": f"re_double_{next(_ids)}",
                        "object": "refund",
                        "amount": amount,
                        "currency": "usd",
                        "payment_intent": intent,
                        "status": state.refund_status,
                        "metadata": metadata,
                        "failure_reason": None,
                    }
                    state.refunds[key] = refund
                drop = state.drop_answers > 0
                if drop:
                    state.drop_answers -= 1
            if drop:
                self.close_connection = True  # processed, but the answer never leaves: a lost answer
                return
            self._send(200, refund)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as port:
        state.port = port
        yield state
