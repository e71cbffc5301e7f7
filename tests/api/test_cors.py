"""Browsers call quotes cross-origin: one cached preflight, and the shop's origins enforced."""

from __future__ import annotations

from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer


def preflight(client, origin="https://jade.example"):
    return client.options(
        "/api/v1/quotes",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_preflight_allows_the_request_and_is_cached(client):
    response = preflight(client)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://jade.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert int(response.headers["Access-Control-Max-Age"]) >= 600


def test_any_origin_by_default(client, shop):
    response = client.post(
        "/api/v1/quotes",
        json=CONTRACT_EXAMPLE,
        headers={**bearer(shop.keys.publishable_key), "Origin": "https://anything.example"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://anything.example"


def test_errors_are_readable_cross_origin(client):
    response = client.post("/api/v1/quotes", json={}, headers={"Origin": "https://jade.example"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://jade.example"


def test_shop_origins_are_enforced(client, shop):
    client.patch(
        "/api/v1/settings",
        json={"cors": {"allowed_origins": ["https://jade.example"]}},
        headers=bearer(shop.keys.secret_key),
    )
    allowed = client.post(
        "/api/v1/quotes",
        json=CONTRACT_EXAMPLE,
        headers={**bearer(shop.keys.publishable_key), "Origin": "https://jade.example"},
    )
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://jade.example"
    refused = client.post(
        "/api/v1/quotes",
        json=CONTRACT_EXAMPLE,
        headers={**bearer(shop.keys.publishable_key), "Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused.headers
    server_to_server = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.secret_key))
    assert server_to_server.status_code == 200  # no Origin: not a browser


def test_secret_endpoints_get_no_cors_headers(client, shop):
    response = client.get(
        "/api/v1/settings", headers={**bearer(shop.keys.secret_key), "Origin": "https://jade.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_allowed_origins_compare_case_insensitively(client, shop):
    settings = client.patch(
        "/api/v1/settings",
        json={"cors": {"allowed_origins": ["https://Shop.Example"]}},
        headers=bearer(shop.keys.secret_key),
    )
    assert settings.status_code == 200
    for origin in ("https://shop.example", "https://SHOP.example", "HTTPS://Shop.Example"):
        response = client.post(
            "/api/v1/quotes", json=CONTRACT_EXAMPLE, headers={**bearer(shop.keys.publishable_key), "Origin": origin}
        )
        assert response.status_code == 200, origin
        assert response.headers["Access-Control-Allow-Origin"] == origin
    other = client.post(
        "/api/v1/quotes",
        json=CONTRACT_EXAMPLE,
        headers={**bearer(shop.keys.publishable_key), "Origin": "https://shop.example.evil"},
    )
    assert other.status_code == 403


def test_a_secret_key_endpoint_never_reflects_an_origin(client, shop):
    origin = {"Origin": "https://jade.example"}
    consent = client.post(
        "/api/v1/consents",
        json={"quote": "x"},
        headers={**bearer(shop.keys.publishable_key), **origin},
    )
    assert consent.headers.get("Access-Control-Allow-Origin") == "https://jade.example"  # a browser endpoint
    secret_paths = ["/api/v1/consents/cns_missing", "/api/v1/consents/", "/api/v1/quotes/x", "/api/v1/settings"]
    for path in secret_paths:
        for headers in (
            {**bearer(shop.keys.secret_key), **origin},
            {**bearer(shop.keys.publishable_key), **origin},
            origin,
        ):
            answer = client.get(path, headers=headers)
            assert answer.status_code >= 400 or path == "/api/v1/settings", path
            assert "Access-Control-Allow-Origin" not in answer.headers, (path, answer.status_code)
        flight = client.options(
            path,
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert "Access-Control-Allow-Origin" not in flight.headers, path
