"""Outbound webhooks: the event types a merchant can subscribe to, and the signature every delivery carries.

The signature is Stripe's scheme under our own header: `Plugin-Signature: t=<unix seconds>,v1=<hex>`, where hex
is HMAC-SHA256, keyed with the endpoint's secret, of `"<t>.<raw body>"`. The receiver recomputes it over the bytes
it received and refuses a timestamp too far from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

EVENT_TYPES = ("claim.created", "claim.updated", "policy.failed", "tracking.stalled")
ALL_EVENTS = "*"
SIGNATURE_HEADER = "Plugin-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def subscribed(events: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint listening to `events` gets `event_type`."""
    return ALL_EVENTS in events or event_type in events


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>"."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The Plugin-Signature header's value."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(header: str, body: bytes, secret: str, now: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance` seconds of `now`."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))
