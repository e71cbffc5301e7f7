"""The webhook baseline: a minimal correct Stripe receiver, served exactly like the plugin.

One view: verify the Stripe-Signature header over the raw body (the same HMAC-SHA256 check, within the same
5-minute tolerance) and insert the raw event in one statement, deduplicated by its id. Connections come from a
small pool per gunicorn worker (as many as SQLAlchemy's default pool_size), so greenlets do not queue on one
connection. BARE_WEBHOOK_SECRET and DATABASE_URL come from the environment; bench/webhook_ingestion.py creates
the table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import Flask, abort, request

app = Flask(__name__)

SECRET = os.environ.get("BARE_WEBHOOK_SECRET", "").encode()
DATABASE_URL = os.environ.get("DATABASE_URL", "")
POOL_SIZE = 5
TABLE_SQL = "CREATE TABLE IF NOT EXISTS bare_webhook_events (event_id text PRIMARY KEY, body text NOT NULL)"
INSERT_SQL = "INSERT INTO bare_webhook_events (event_id, body) VALUES (%s, %s) ON CONFLICT (event_id) DO NOTHING"

_idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
_opened = 0


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled autocommit connection (opened lazily, up to POOL_SIZE per process)."""
    global _opened
    try:
        conn = _idle.get_nowait()
    except queue.Empty:
        if _opened < POOL_SIZE:
            _opened += 1
            conn = psycopg.connect(DATABASE_URL, autocommit=True)
        else:
            conn = _idle.get()
    try:
        yield conn
    finally:
        _idle.put(conn)


def verified(raw: bytes, header: str) -> bool:
    """Stripe's v1 scheme: HMAC-SHA256 of `t.body` with the endpoint secret, t within 300 s."""
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or abs(time.time() - timestamp) > 300:
        return False
    expected = hmac.new(SECRET, str(timestamp).encode() + b"." + raw, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


@app.post("/webhooks/stripe/<shop_id>")
def receive(shop_id: str):
    """Verify, then store the event once."""
    raw = request.get_data()
    if not verified(raw, request.headers.get("Stripe-Signature", "")):
        abort(400)
    event_id = json.loads(raw)["id"]
    with connection() as conn:
        conn.execute(INSERT_SQL, (event_id, raw.decode()))
    return {"received": True}
