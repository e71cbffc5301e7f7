"""API tests talk through a client that holds every answer to the OpenAPI document."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.openapi_check import OpenApiCheckedClient


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return OpenApiCheckedClient(app, app.response_class, use_cookies=True)
