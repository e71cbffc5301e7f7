"""Every HTML page carries the browser protections (CSP with frame-ancestors, X-Frame-Options, nosniff,
Referrer-Policy); the demo's order state shows nothing personal."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from plugin import create_app
from plugin.extensions import db
from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer, make_environ


def assert_page_headers(response) -> None:
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval
    assert directives["object-src"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.fixture()
def demo_mode(app: Flask) -> Iterator[None]:
    app.config["DEMO"] = True
    yield
    app.config["DEMO"] = False


def test_the_terms_page(client, shop):
    response = client.get(f"/terms/{shop.shop.id}")
    assert response.status_code == 200
    assert_page_headers(response)


def test_the_api_docs_page_has_no_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert_page_headers(response)
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all("src=" in attributes and not body.strip() for attributes, body in scripts)
    with client.get("/static/api-docs/swagger-init.js") as init:
        assert init.status_code == 200 and b"SwaggerUIBundle" in init.data


def test_the_demo_pages(client, shop, demo_mode):
    assert_page_headers(client.get("/demo"))
    assert_page_headers(client.get("/demo/orders/D123"))


def test_html_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    if response.mimetype == "text/html":
        assert_page_headers(response)


def test_a_future_page_gets_them_by_default(database_url, app):
    later = create_app({"ENVIRON": make_environ(database_url)})
    later.add_url_rule("/admin/example", "admin_example", lambda: "<!doctype html><p>admin</p>")
    assert_page_headers(later.test_client().get("/admin/example"))
    with later.app_context():
        db.engine.dispose()


def test_json_answers_are_not_pages(client):
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers


def test_the_demo_order_state_shows_no_email(client, demo_mode):
    from plugin.cli import ensure_demo_shop

    with client.application.app_context():
        _, publishable, _ = ensure_demo_shop()
        db.session.remove()
    store = client.get("/demo").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', store).group(1)
    quote = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(publishable)).get_json()
    paid = client.post(
        "/demo/pay",
        json={"subtotal": 50000, "email": "jade.shopper@example.com", "selected": True, "quote": quote["id"]},
        headers={"X-CSRFToken": token},
    )
    assert paid.status_code == 200, paid.get_data(as_text=True)
    state = client.get(f"/demo/orders/{paid.get_json()['order_id']}/state")
    assert state.status_code == 200
    assert "jade.shopper" not in state.get_data(as_text=True)
    protection = state.get_json()["protection"]
    # What static/demo/order.js shows is still there.
    assert protection["status"] == "active"
    assert protection["customer_price"] == quote["customer_price"] and protection["currency"] == "USD"
    assert {"disputed", "consent", "consent_verified"} <= protection.keys()


def test_a_views_own_headers_win_and_the_rest_come_in_order(database_url, app):
    later = create_app({"ENVIRON": make_environ(database_url, HTTPS_ONLY="1")})

    def framed() -> tuple[str, dict[str, str]]:
        return "<p>framed</p>", {"x-frame-options": "SAMEORIGIN", "Content-Type": "text/html; charset=utf-8"}

    later.add_url_rule("/admin/framed", "admin_framed", framed)
    response = later.test_client().get("/admin/framed", base_url="https://localhost")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    expected = ["X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "Strict-Transport-Security"]
    assert [name for name, _ in response.headers if name in expected] == expected
    with later.app_context():
        db.engine.dispose()


def test_the_request_session_ends_once(app):
    # flask-sqlalchemy's own teardown is replaced by ours, which also survives a dropped connection.
    assert len(app.teardown_appcontext_funcs) == 1
