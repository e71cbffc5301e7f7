"""The OpenAPI document describes what the API answers: list objects, error shapes, and nothing else."""

from __future__ import annotations

import pytest

from tests.api.openapi_check import UndocumentedResponseError, check_response


def document(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def resolve(doc: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@pytest.mark.parametrize("path", ["/api/v1/protections", "/api/v1/policies", "/api/v1/shipments"])
def test_list_endpoints_are_documented_as_list_objects(client, path):
    doc = document(client)
    answer = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    schema = resolve(doc, answer)
    assert schema.get("type") == "object" and {"object", "data", "has_more"} <= set(schema["properties"])
    assert schema["properties"]["data"]["type"] == "array"
    assert schema["properties"]["object"]["enum"] == ["list"]


def test_every_error_status_is_documented_with_the_error_schema(client):
    doc = document(client)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, answer in operation["responses"].items():
                if status == "default" or int(status) >= 400:
                    response = answer
                    if "$ref" in answer:  # smorest's shared default error response
                        response = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_json_body_endpoints_document_415(client):
    doc = document(client)
    for path, method in [("/api/v1/quotes", "post"), ("/api/v1/shipments", "post"), ("/api/v1/settings", "patch")]:
        assert "415" in doc["paths"][path][method]["responses"]


def test_webhook_receipts_are_documented(client):
    doc = document(client)
    for path in ["/webhooks/stripe/{shop_id}", "/webhooks/platform/{shop_id}"]:
        schema = resolve(doc, doc["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"])
        assert set(schema["required"]) == {"received", "duplicate", "outcome"}


def test_the_checker_refuses_an_undocumented_shape(app, client):
    from werkzeug.test import TestResponse

    bare_list = app.response_class('[{"id": "pol_1"}]', status=200, mimetype="application/json")
    with pytest.raises(UndocumentedResponseError):
        check_response(app, "GET", "/api/v1/policies", TestResponse.force_type(bare_list))
    undocumented_path = app.response_class("{}", status=200, mimetype="application/json")
    with pytest.raises(UndocumentedResponseError):
        check_response(app, "GET", "/api/v1/nowhere", TestResponse.force_type(undocumented_path))
