"""Quote rate limits count per key however the header is spelled, per client address, and across processes."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from plugin import create_app
from plugin.extensions import db
from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import make_environ

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def limited_app(database_url: str, **environ: str) -> Flask:
    """An app on the test database whose quotes are limited to 3 a minute."""
    return create_app({"ENVIRON": make_environ(database_url, RATE_LIMIT_QUOTES="3/minute", **environ)})


def dispose(app: Flask) -> None:
    """Close the app's pooled connections (PostgreSQL counts them)."""
    with app.app_context():
        db.engine.dispose()


def quote(app: Flask, authorization: str, address: str = "203.0.113.7") -> int:
    response = app.test_client().post(
        "/api/v1/quotes",
        json=CONTRACT_EXAMPLE,
        headers={"Authorization": authorization},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


@pytest.fixture()
def limited(app: Flask, database_url: str) -> Iterator[Flask]:
    application = limited_app(database_url)
    yield application
    dispose(application)


def test_one_key_is_one_bucket_whatever_the_spelling(limited, shop):
    key = shop.keys.publishable_key
    spellings = [f"Bearer {key}", f"bearer {key}", f"BEARER  {key}", f"Bearer\t{key} ", f"bEaReR {key}\t"]
    statuses = [quote(limited, spelling) for spelling in spellings]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def test_each_client_address_has_its_own_bucket(limited, shop):
    authorization = f"Bearer {shop.keys.publishable_key}"
    assert [quote(limited, authorization, "203.0.113.7") for _ in range(4)] == [200, 200, 200, 429]
    assert quote(limited, authorization, "198.51.100.9") == 200


def _redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_a_redis_limit_holds_across_processes(database_url, shop):
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("Redis is not answering on 127.0.0.1:6379; .ci/run starts it")
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    # Two app instances stand for two processes: they share nothing but Redis. A prefix per run keeps
    # parallel runs (and earlier ones) out of each other's counters.
    shared = {
        "RATE_LIMIT_STORAGE_URI": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
        "RATE_LIMIT_KEY_PREFIX": uuid.uuid4().hex,
    }
    first, second = limited_app(database_url, **shared), limited_app(database_url, **shared)
    authorization = f"Bearer {shop.keys.publishable_key}"
    statuses = [quote(first, authorization), quote(second, authorization), quote(first, authorization)]
    assert statuses == [200, 200, 200]
    assert quote(second, authorization) == 429
    assert quote(first, authorization) == 429
    # Another prefix is another deployment: its counters start empty.
    other = limited_app(database_url, **{**shared, "RATE_LIMIT_KEY_PREFIX": uuid.uuid4().hex})
    assert quote(other, authorization) == 200
    for application in (first, second, other):
        dispose(application)


def test_an_unreachable_limit_store_lets_checkouts_through(database_url, shop):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    application = limited_app(database_url, RATE_LIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
    assert quote(application, f"Bearer {shop.keys.publishable_key}") == 200
    dispose(application)
