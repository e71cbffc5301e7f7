"""Behind a trusted proxy, per-address rate limits count the client; a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.api.test_rate_limit_keys import dispose, limited_app

PROXY = "10.0.0.2"


@pytest.fixture()
def proxied(app: Flask, database_url: str) -> Iterator[Flask]:
    application = limited_app(database_url, FORWARDED_ALLOW_IPS="10.0.0.0/24")
    yield application
    dispose(application)


def quote(app: Flask, key: str, peer: str, forwarded_for: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    response = app.test_client().post(
        "/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers, environ_base={"REMOTE_ADDR": peer}
    )
    return response.status_code


def test_clients_behind_the_proxy_each_have_their_own_bucket(proxied, shop):
    key = shop.keys.publishable_key
    assert [quote(proxied, key, PROXY, "203.0.113.7") for _ in range(4)] == [200, 200, 200, 429]
    # Another shopper through the same proxy is not limited by the first one's requests.
    assert quote(proxied, key, PROXY, "198.51.100.9") == 200
    # The first shopper cannot escape by putting a made-up address in front: the proxy appended the real one.
    assert quote(proxied, key, PROXY, "192.0.2.200, 203.0.113.7") == 429


def test_a_forged_header_from_an_untrusted_peer_changes_nothing(proxied, shop):
    key = shop.keys.publishable_key
    statuses = [quote(proxied, key, "203.0.113.7", f"198.51.100.{n}") for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_without_trusted_proxies_the_header_is_ignored(app, database_url, shop):
    application = limited_app(database_url)
    try:
        statuses = [quote(application, shop.keys.publishable_key, PROXY, f"198.51.100.{n}") for n in range(4)]
    finally:
        dispose(application)
    assert statuses == [200, 200, 200, 429]
