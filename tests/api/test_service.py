"""Health, the OpenAPI document and its docs page, the security headers."""

from __future__ import annotations

from plugin import create_app
from tests.conftest import make_environ


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_reports_a_database_that_does_not_answer(tmp_path):
    broken = create_app({"ENVIRON": make_environ(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}


def test_openapi_document_describes_the_api(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/quotes", "/api/v1/settings"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/api/v1/quotes"]
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/settings"])
    schemas = spec["components"]["schemas"]
    assert "QuoteRequest" in schemas and "Quote" in schemas and "Error" in schemas
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    quote_responses = spec["paths"]["/api/v1/quotes"]["post"]["responses"]
    assert {"200", "401", "422"} <= set(quote_responses)


def test_docs_page_is_served_with_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"swagger" in page.data.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()  # the file response streams from disk


def test_hsts_when_https_only(tmp_path):
    secure = create_app({"ENVIRON": make_environ(f"sqlite:///{tmp_path}/db.sqlite", HTTPS_ONLY="1")})
    response = secure.test_client().get("/api/openapi.json")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert secure.config["SESSION_COOKIE_SECURE"] is True
