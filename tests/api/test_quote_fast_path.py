"""The quote fast path (plugin/api/quote_fast_path.py): the common request answered below Flask, exactly as the
Flask view answers it; every other request left to the view."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from flask import Flask, request_started

from plugin import create_app
from plugin.api import quote_fast_path
from plugin.extensions import db
from tests.api.test_observability import scrape, value
from tests.api.test_quotes import CONTRACT_EXAMPLE, patch_settings
from tests.conftest import bearer, make_environ

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
ROUTE = {"route": "/api/v1/quotes", "method": "POST"}


@contextmanager
def flask_requests(app: Flask) -> Iterator[list[str]]:
    """The quote requests Flask's own request handling ran (the fast path's never start one); the API tests' client
    also reads the OpenAPI document to check answers against it, which is not counted."""
    seen: list[str] = []

    def started(sender: Flask, **_extra: object) -> None:
        from flask import request

        if request.path.startswith("/api/v1/quotes"):
            seen.append(request.path)

    with request_started.connected_to(started, app):
        yield seen


@pytest.fixture()
def fixed_quotes(monkeypatch):
    """The same moment and nonce for every quote, so that two answers to the same cart are byte for byte equal."""
    monkeypatch.setattr("plugin.api.quotes.utcnow", lambda: NOW)
    monkeypatch.setattr("plugin.domain.quote_token.new_nonce", lambda: "00000000abcd")


def environ(body: bytes, key: str, **extra: str) -> dict:
    """A WSGI environ as gunicorn makes one for POST /api/v1/quotes."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/quotes",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "shop.example:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **extra,
    }


def call(wsgi_app, env: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    answered: list = []
    body = b"".join(wsgi_app(env, lambda status, headers, exc_info=None: answered.append((status, headers))))
    status, headers = answered[0]
    return status, [(name, value) for name, value in headers if name != "X-Request-ID"], body


CARTS = [
    CONTRACT_EXAMPLE,
    {**CONTRACT_EXAMPLE, "locale": "zh-CN"},
    {**CONTRACT_EXAMPLE, "shipping_method": {"carrier": "UPS"}, "shipping_amount": None},
    {**CONTRACT_EXAMPLE, "items": [{**CONTRACT_EXAMPLE["items"][0], "unit_price": 0}]},  # ineligible: no id
    {
        **CONTRACT_EXAMPLE,
        "items": [
            {"sku": f"S-{i}", "unit_price": 1999 + i, "quantity": 1 + i % 3, "category": "electronics"}
            for i in range(12)
        ],
    },
]
HEADERS = [
    {},
    {"HTTP_ORIGIN": "https://shop.example"},
    {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"},
    {"wsgi.url_scheme": "https", "SCRIPT_NAME": "/protect/"},
    {"HTTP_HOST": "evil.example/<x>"},  # a host werkzeug refuses: the terms link has none, on both paths
    {"HTTP_ORIGIN": "null", "HTTP_ACCEPT_LANGUAGE": ";;,q=zh"},
]


@pytest.mark.parametrize("cart", CARTS)
@pytest.mark.parametrize("extra", HEADERS)
def test_the_fast_path_answers_as_the_flask_view_does(app, shop, fixed_quotes, cart, extra):
    fast_path = app.extensions["quote_fast_path"]
    key = shop.keys.publishable_key
    body = json.dumps(cart).encode()
    flask_answer = call(fast_path.app, environ(body, key, **extra))  # Flask's own handling, which keeps the key
    with flask_requests(app) as seen:
        fast_answer = call(fast_path, environ(body, key, **extra))
    assert seen == []  # answered below Flask
    assert fast_answer == flask_answer
    assert flask_answer[0] == "200 OK"


def test_the_whole_app_serves_the_common_request_below_flask_once_the_key_is_kept(app, client, shop):
    headers = {**bearer(shop.keys.publishable_key), "X-Request-ID": "req-fast-1"}
    with flask_requests(app) as seen:
        first = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers)
        later = [client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers) for _ in range(3)]
    assert seen == ["/api/v1/quotes"]  # the first looked the key up through the view; the others were kept
    assert {first.status_code, *(answer.status_code for answer in later)} == {200}
    assert later[-1].headers["X-Request-ID"] == "req-fast-1"  # the request-id layer wraps the fast path
    assert later[-1].headers["X-Content-Type-Options"] == "nosniff"
    assert later[-1].get_json()["premium"] == first.get_json()["premium"] == 1000


def test_answers_under_https_only_carry_hsts_as_the_views_do(database_url, shop, fixed_quotes):
    app = create_app({"ENVIRON": make_environ(database_url, HTTPS_ONLY="1")})
    try:
        fast_path = app.extensions["quote_fast_path"]
        body = json.dumps(CONTRACT_EXAMPLE).encode()
        flask_answer = call(fast_path.app, environ(body, shop.keys.publishable_key))
        fast_answer = call(fast_path, environ(body, shop.keys.publishable_key))
        assert fast_answer == flask_answer
        assert ("Strict-Transport-Security", "max-age=31536000; includeSubDomains") in fast_answer[1]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_fast_answers_are_counted_in_the_request_metrics(app, client, shop):
    headers = bearer(shop.keys.publishable_key)
    client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers)  # keeps the key
    before = scrape(client)
    for _ in range(3):
        assert client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers).status_code == 200
    after = scrape(client)
    counted = value(after, "plugin_http_requests_total", status="200", **ROUTE)
    assert counted - value(before, "plugin_http_requests_total", status="200", **ROUTE) == 3
    timed = value(after, "plugin_http_request_duration_seconds_count", **ROUTE)
    assert timed - value(before, "plugin_http_request_duration_seconds_count", **ROUTE) == 3


def kept(client, key: str) -> None:
    """Have the view look the key up, so that the process keeps it and the fast path could answer."""
    assert client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(key)).status_code == 200


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        (lambda c, k: c.post("/api/v1/quotes", data=b'{"currency": ', headers=json_headers(k)), 400, "invalid_json"),
        (lambda c, k: c.post("/api/v1/quotes", data=b"[]", headers=json_headers(k)), 422, "validation_error"),
        (lambda c, k: c.post("/api/v1/quotes", json={**CONTRACT_EXAMPLE, "currency": "EUR"}, headers=bearer(k)), 422,
         "validation_error"),
        (lambda c, k: c.post("/api/v1/quotes", json={**CONTRACT_EXAMPLE, "items": [{"sku": "A", "unit_price": 1, "quantity": -1}]}, headers=bearer(k)), 422,
         "validation_error"),
        (lambda c, k: c.post("/api/v1/quotes", data=b"", headers=json_headers(k)), 422, "validation_error"),
        (lambda c, k: c.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(k + "x")), 401,
         "invalid_api_key"),
        (lambda c, k: c.post("/api/v1/quotes", json=CONTRACT_EXAMPLE), 401, "authentication_required"),
        (lambda c, k: c.post("/api/v1/quotes", data=json.dumps(CONTRACT_EXAMPLE), headers=bearer(k),
                             content_type="text/plain"), 415, "unsupported_media_type"),
        (lambda c, k: c.post("/api/v1/quotes", data=b"{" * 2_000_000, headers=json_headers(k)), 413,
         "payload_too_large"),
    ],
)  # fmt: skip
def test_requests_it_does_not_take_get_the_views_answer(app, client, shop, send, status, code):
    key = shop.keys.publishable_key
    kept(client, key)
    with flask_requests(app) as seen:
        response = send(client, key)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    assert seen == ["/api/v1/quotes"]


def json_headers(key: str) -> dict[str, str]:
    return {**bearer(key), "Content-Type": "application/json"}


def test_a_disallowed_origin_is_refused_by_the_view(app, client, shop):
    patch_settings(client, shop, {"cors": {"allowed_origins": ["https://jade.example"]}})
    key = shop.keys.publishable_key
    kept(client, key)
    with flask_requests(app) as seen:
        refused = client.post(
            "/api/v1/quotes", json=CONTRACT_EXAMPLE, headers={**bearer(key), "Origin": "https://evil.example"}
        )
        allowed = client.post(
            "/api/v1/quotes", json=CONTRACT_EXAMPLE, headers={**bearer(key), "Origin": "https://JADE.example/"}
        )
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == "https://JADE.example/"
    assert seen == ["/api/v1/quotes"]  # only the refusal went to the view


def test_a_query_string_or_chunked_body_goes_to_the_view(app, client, shop):
    key = shop.keys.publishable_key
    kept(client, key)
    with flask_requests(app) as seen:
        with_query = client.post("/api/v1/quotes?debug=1", json=CONTRACT_EXAMPLE, headers=bearer(key))
        chunked = client.post(
            "/api/v1/quotes",
            input_stream=io.BytesIO(json.dumps(CONTRACT_EXAMPLE).encode()),
            headers={**json_headers(key), "Transfer-Encoding": "chunked"},
            environ_base={"wsgi.input_terminated": True},  # as gunicorn marks a chunked body it decodes
        )
    assert with_query.status_code == 200 and chunked.status_code == 200
    assert seen == ["/api/v1/quotes", "/api/v1/quotes"]


def test_the_rate_limit_counts_each_request_once(database_url, shop):
    app = create_app({"ENVIRON": make_environ(database_url, RATE_LIMIT_QUOTES="4/minute")})
    try:
        client = app.test_client()
        headers = bearer(shop.keys.publishable_key)
        statuses = [client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers) for _ in range(6)]
        assert [response.status_code for response in statuses] == [200, 200, 200, 200, 429, 429]
        assert statuses[-1].get_json()["error"]["code"] == "rate_limited"
        assert int(statuses[-1].headers["Retry-After"]) >= 1
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_changed_setting_is_priced_at_once_in_this_process(app, client, shop):
    key = shop.keys.publishable_key
    kept(client, key)
    patch_settings(client, shop, {"pricing": {"rate": "0.05"}})  # forgets the kept grant here
    answer = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(key)).get_json()
    assert answer["premium"] == 2500


def test_a_failure_inside_it_leaves_the_answer_to_the_view(app, client, shop, monkeypatch, caplog):
    key = shop.keys.publishable_key
    kept(client, key)

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr(quote_fast_path, "encoded_quote", broken)
    with flask_requests(app) as seen:
        response = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(key))
    assert response.status_code == 200 and response.get_json()["premium"] == 1000
    assert seen == ["/api/v1/quotes"]
    assert "the quote fast path failed" in caplog.text


@pytest.mark.parametrize("length", ["9" * 5000, "-1", "１２", "0x10", "", "99999999999"])
def test_a_strange_content_length_goes_to_the_view(app, client, shop, length):
    key = shop.keys.publishable_key
    kept(client, key)
    body = json.dumps(CONTRACT_EXAMPLE).encode()
    with flask_requests(app) as seen:
        status, _headers, answer = call(app.wsgi_app, environ(body, key, CONTENT_LENGTH=length))
    assert status[:3] in {"200", "400", "413", "422"}, answer
    assert seen == ["/api/v1/quotes"]
