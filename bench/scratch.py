"""A throw-away PostgreSQL database for a benchmark, made on the server of a URL and dropped afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database `<prefix>_<time>` on `server_url`'s server; its URL. Dropped on the way out, connections and all."""
    name = f"{prefix}_{int(time.time())}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
