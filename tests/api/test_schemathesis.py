"""A bounded schemathesis run over /api/openapi.json, in-process (WSGI), with each kind of key.

No answer may be a 5xx, and every answer must be documented (status, content type, JSON shape). The webhook
routes are left out: their bodies are signed, which a schema cannot describe; tests/api/test_hostile_webhooks.py
holds them to the same rule with signed hostile bodies.

Each operation runs under hypothesis directly (schemathesis' pytest plugin does not run on pytest 9's nodes).
"""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 15  # both runs together stay well under a minute


def run_every_operation(app: Flask, key: str) -> list[str]:
    """Fuzz every documented operation (webhooks aside) with this key; the operations run."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).exclude(path_regex="^/webhooks/")
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(f"{operation.method.upper()} {operation.path}")

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,  # the same examples on every run, so CI is stable
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=bearer(key), checks=CHECKS)

        check()
    return labels


@pytest.mark.parametrize("kind", ["publishable", "secret"])
def test_no_5xx_and_every_answer_is_documented(app, shop, kind):
    key = shop.keys.secret_key if kind == "secret" else shop.keys.publishable_key
    operations = run_every_operation(app, key)
    assert {"POST /api/v1/quotes", "PATCH /api/v1/settings", "POST /api/v1/shipments"} <= set(operations)
