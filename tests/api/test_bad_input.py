"""Hostile and broken requests: always a 4xx in the contract's shape, never a 5xx, never a change."""

from __future__ import annotations

import json

import pytest

from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer


def assert_error_shape(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'a': 1}",
        b'{"currency": NaN}',
        b'{"a": Infinity}',
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b'{"a": 1}x',
    ],
)
def test_malformed_json_is_invalid_json(client, shop, raw):
    response = client.post("/api/v1/quotes", data=raw, headers=bearer(shop.keys.publishable_key))
    assert_error_shape(response, 400, "invalid_json")


def test_numbers_too_long_for_python_are_invalid_json(client, shop):
    raw = b'{"currency": "USD", "items": [{"unit_price": ' + b"9" * 5000 + b"}]}"
    response = client.post("/api/v1/quotes", data=raw, headers=bearer(shop.keys.publishable_key))
    assert_error_shape(response, 400, "invalid_json")


def item(**changes):
    return {"sku": "A", "unit_price": 100, "quantity": 1, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"currency": 840}, "currency"),
        ({"destination": {"country": "XX"}}, "destination.country"),
        ({"destination": {"country": "US", "region": "CN-XJ"}}, "destination.region"),
        ({"destination": {"country": "US", "region": "US-ZZ"}}, "destination.region"),
        ({"destination": "US"}, "destination"),
        ({"items": "lots"}, "items"),
        ({"items": [item(unit_price=-1)]}, "items.0.unit_price"),
        ({"items": [item(unit_price=10**12)]}, "items.0.unit_price"),
        ({"items": [item(unit_price=10**40)]}, "items.0.unit_price"),
        ({"items": [item(unit_price=99.5)]}, "items.0.unit_price"),
        ({"items": [item(unit_price="100")]}, "items.0.unit_price"),
        ({"items": [item(unit_price=None)]}, "items.0.unit_price"),
        ({"items": [item(quantity=0)]}, "items.0.quantity"),
        ({"items": [item(quantity=-3)]}, "items.0.quantity"),
        ({"items": [item(quantity=10**9)]}, "items.0.quantity"),
        ({"items": [item(quantity=True)]}, "items.0.quantity"),
        ({"items": [item(sku="")]}, "items.0.sku"),
        ({"items": [item(sku="x" * 1000)]}, "items.0.sku"),
        ({"items": [item(), {"unit_price": 5}]}, "items.1.sku"),
        ({"items": [item() for _ in range(10_000)]}, "items"),
        ({"shipping_amount": -5}, "shipping_amount"),
    ],
)
def test_schema_violations_are_422_with_the_field(client, shop, changes, field):
    response = client.post(
        "/api/v1/quotes", json={**CONTRACT_EXAMPLE, **changes}, headers=bearer(shop.keys.publishable_key)
    )
    error = assert_error_shape(response, 422, "validation_error")
    assert field in error["fields"], error["fields"]


def test_missing_body_names_every_required_field(client, shop):
    response = client.post("/api/v1/quotes", headers=bearer(shop.keys.publishable_key))
    error = assert_error_shape(response, 422, "validation_error")
    assert set(error["fields"]) == {"currency", "destination", "items"}


@pytest.mark.parametrize("path", ["/api/v1/quotes", "/api/v1/settings"])
def test_bodies_over_one_mib_are_413(client, shop, path):
    raw = json.dumps({"padding": "x" * (1024 * 1024)})
    method = client.post if path.endswith("quotes") else client.patch
    response = method(path, data=raw, headers=bearer(shop.keys.secret_key))
    assert_error_shape(response, 413, "payload_too_large")


def test_unknown_api_path_is_a_json_404(client):
    assert_error_shape(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_json_405(client):
    response = client.delete("/api/v1/quotes")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_rate_limit_answers_429_in_the_error_shape(app, client, shop):
    app.config["RATE_LIMIT_QUOTES"] = "2/minute"
    try:
        codes = [
            client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.publishable_key)).status_code
            for _ in range(3)
        ]
        limited = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.publishable_key))
    finally:
        app.config["RATE_LIMIT_QUOTES"] = "100000/minute"
    assert codes[:2] == [200, 200] and codes[2] == 429
    assert_error_shape(limited, 429, "rate_limited")
    assert "Retry-After" in limited.headers
