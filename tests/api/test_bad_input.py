"""Hostile and broken requests: always a 4xx in the contract's shape, never a 5xx, never a change."""

from __future__ import annotations

import json
import re

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


# ---- hostile text, dates and media types, on every endpoint, with either key and without ---------------------

HOSTILE_SEGMENTS = ["%00", "x%00y", "%ED%A0%80", "%FF", "%C0%80"]
HOSTILE_QUERIES = [
    "order_id=%00",
    "order_id=%ED%A0%80",
    "order_id=%FF",
    "%00=1",
    "starting_after=%00",
    "status=%00",
    "created%5Bgte%5D=0000-01-01",
    "created%5Bgte%5D=99999-01-01T00:00:00Z",
    "created%5Blte%5D=9999-12-31T23:59:59-01:00",
    "created%5Bgte%5D=100000000000000000000",
    "limit=100000000000000000000",
]
HOSTILE_BODIES = [
    b'{"order_id": "a\\u0000", "shipment_id": "s", "carrier": "c", "tracking_number": "t"}',
    b'{"order_id": "a", "shipment_id": "s\\ud800", "carrier": "c", "tracking_number": "t"}',
    b'{"\\u0000": 1, "offer": {"title": "\\udfff"}}',
    b'{"order_id": "a", "shipment_id": "s", "carrier": "c", "tracking_number": "t", "shipped_at": "9999-12-31T23:59:59-01:00"}',
    b'{"quote": "q", "price_shown": 1, "currency": "USD", "text_shown": "t\\u0000", "terms_version": "v", "shown_at": "0000-01-01T00:00:00Z"}',
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
    b"\xff\xfe\xfd",
]


def api_routes(app) -> list[tuple[str, str]]:
    """Every (method, rule) of the JSON API and the webhooks."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1", "/webhooks/")):
            routes.extend((method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


def fill(rule: str, segment: str) -> str:
    return re.sub(r"<[^>]+>", segment, rule)


def keys_of(shop) -> list[dict[str, str]]:
    return [bearer(shop.keys.secret_key), bearer(shop.keys.publishable_key), {}]


def assert_clean_answer(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_hostile_path_segments_never_5xx(app, client, shop):
    for method, rule in api_routes(app):
        if "<" not in rule:
            continue
        for segment in HOSTILE_SEGMENTS:
            for headers in keys_of(shop):
                response = client.open(fill(rule, segment), method=method, headers=headers)
                assert_clean_answer(response)
                if headers and rule.startswith("/api/") and response.status_code != 403:
                    assert response.status_code == 404, (method, rule, segment)


def test_hostile_query_strings_never_5xx(app, client, shop):
    for method, rule in api_routes(app):
        for query in HOSTILE_QUERIES:
            for headers in keys_of(shop):
                assert_clean_answer(client.open(f"{fill(rule, 'x')}?{query}", method=method, headers=headers))


def test_nul_in_a_filter_is_a_422_naming_it(client, shop):
    for path in ["/api/v1/protections", "/api/v1/policies", "/api/v1/shipments"]:
        response = client.get(f"{path}?order_id=%00", headers=bearer(shop.keys.secret_key))
        assert assert_error_shape(response, 422, "validation_error")["fields"].keys() == {"order_id"}


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "0000-01-01T00:00:00Z"])
def test_dates_outside_the_utc_calendar_are_422(client, shop, value):
    response = client.get(
        "/api/v1/protections", query_string={"created[gte]": value}, headers=bearer(shop.keys.secret_key)
    )
    assert "created[gte]" in assert_error_shape(response, 422, "validation_error")["fields"]


def test_hostile_bodies_never_5xx_and_change_nothing(app, client, shop):
    before = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).get_json()
    for method, rule in api_routes(app):
        if method not in {"POST", "PATCH", "PUT"} or rule.startswith("/webhooks/"):
            continue
        for body in HOSTILE_BODIES:
            for headers in keys_of(shop):
                response = client.open(
                    fill(rule, "x"), method=method, data=body, headers={**headers, "Content-Type": "application/json"}
                )
                assert_clean_answer(response)
                assert response.status_code != 200 or rule.endswith("/quotes")
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).get_json() == before
    listed = client.get("/api/v1/shipments?order_id=a", headers=bearer(shop.keys.secret_key)).get_json()
    assert listed["data"] == []


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        (
            "/api/v1/shipments",
            "POST",
            b'{"order_id": "a\\u0000", "shipment_id": "s", "carrier": "c", "tracking_number": "t"}',
        ),
        ("/api/v1/settings", "PATCH", b'{"offer": {"title": "T\\ud800"}}'),
    ],
)
def test_nul_or_lone_surrogates_in_a_stored_body_are_422_naming_the_field(client, shop, path, method, body):
    response = client.open(
        path, method=method, data=body, headers={**bearer(shop.keys.secret_key), "Content-Type": "application/json"}
    )
    fields = assert_error_shape(response, 422, "validation_error")["fields"]
    assert set(fields) <= {"order_id", "offer.title"} and fields


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/quotes", "POST"),
        ("/api/v1/shipments", "POST"),
        ("/api/v1/consents", "POST"),
        ("/api/v1/settings", "PATCH"),
    ],
)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/json",
    ],
)
def test_a_body_that_is_not_json_is_415(client, shop, path, method, content_type):
    response = client.open(
        path, method=method, data=b'{"a": 1}', headers={**bearer(shop.keys.secret_key), "Content-Type": content_type}
    )
    assert_error_shape(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_are_accepted(client, shop, content_type):
    response = client.patch(
        "/api/v1/settings",
        data=b'{"pricing": {"rate": "0.03"}}',
        headers={**bearer(shop.keys.secret_key), "Content-Type": content_type},
    )
    assert response.status_code == 200 and response.get_json()["pricing"]["rate"] == "0.03"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nope", 404),
        ("GET", "/api", 404),
        ("GET", "/api/v1", 404),
        ("DELETE", "/api/v1/quotes", 405),
        ("PUT", "/api/v1/settings", 405),
        ("GET", "/webhooks/unknown", 404),
        ("GET", "/webhooks", 404),
        ("GET", "/webhooks/stripe/shop_x", 405),
        ("POST", "/api/openapi.json", 405),
    ],
)
def test_every_path_under_api_and_webhooks_answers_json_errors(client, method, path, status):
    assert_error_shape(client.open(path, method=method), status, "not_found" if status == 404 else "method_not_allowed")
