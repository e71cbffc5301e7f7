"""Admin page tests: a shop with an owner and a staff member, and clients signed in as each."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.admin_helpers import AdminUser, make_user, sign_in


@pytest.fixture()
def owner(app: Flask, shop) -> AdminUser:
    return make_user(app, shop.shop.id, "owner@jade.example", "owner")


@pytest.fixture()
def staff(app: Flask, shop) -> AdminUser:
    return make_user(app, shop.shop.id, "staff@jade.example", "staff")


@pytest.fixture()
def owner_client(app: Flask, owner: AdminUser) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, owner).status_code == 302
    return client


@pytest.fixture()
def staff_client(app: Flask, staff: AdminUser) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, staff).status_code == 302
    return client
