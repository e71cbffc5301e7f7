"""Every authentication case of the contract, on both a secret and a browser endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from plugin.extensions import db
from plugin.models import ApiKey, Shop, utcnow
from plugin.services.shops import roll_keys
from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer


def call_settings(client, headers):
    return client.get("/api/v1/settings", headers=headers)


def call_quote(client, headers):
    return client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers)


@pytest.mark.parametrize("call", [call_settings, call_quote])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer sk_unknown"},
     {"Authorization": "Bearer " + "x" * 5000}],
)  # fmt: skip
def test_no_or_unknown_key_is_a_401(client, shop, call, headers):
    response = call(client, headers)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] in {"authentication_required", "invalid_api_key"}
    assert error["message"]


def test_publishable_key_on_a_secret_endpoint_is_a_403(client, shop):
    response = call_settings(client, bearer(shop.keys.publishable_key))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "secret_key_required"
    patch = client.patch("/api/v1/settings", json={"pricing": {"rate": "1"}}, headers=bearer(shop.keys.publishable_key))
    assert patch.status_code == 403


def test_either_key_can_quote(client, shop):
    assert call_quote(client, bearer(shop.keys.publishable_key)).status_code == 200
    assert call_quote(client, bearer(shop.keys.secret_key)).status_code == 200


def test_one_shops_key_never_touches_another_shops_settings(client, new_shop):
    first, second = new_shop("First"), new_shop("Second")
    client.patch("/api/v1/settings", json={"pricing": {"rate": "0.05"}}, headers=bearer(first.keys.secret_key))
    theirs = call_settings(client, bearer(second.keys.secret_key)).get_json()
    assert theirs["pricing"]["rate"] == "0.02"
    quote = call_quote(client, bearer(second.keys.publishable_key)).get_json()
    assert quote["premium"] == 1000  # priced with the second shop's own rate


def test_keys_are_stored_hashed(app, shop):
    with app.app_context():
        stored = " ".join(f"{row.key_hash} {row.display}" for row in db.session.query(ApiKey).all())
    assert shop.keys.secret_key not in stored
    assert shop.keys.publishable_key in stored  # publishable keys are public


def test_rolled_keys_replace_the_old_ones(app, client, shop):
    with app.app_context():
        new_keys = roll_keys(db.session.get(Shop, shop.shop.id), utcnow())
    old = call_settings(client, bearer(shop.keys.secret_key))
    assert old.status_code == 401 and old.get_json()["error"]["code"] == "expired_api_key"
    assert call_settings(client, bearer(new_keys.secret_key)).status_code == 200
    assert call_quote(client, bearer(new_keys.publishable_key)).status_code == 200


def test_rolled_keys_can_keep_the_old_ones_for_a_grace_period(app, client, shop):
    with app.app_context():
        roll_keys(db.session.get(Shop, shop.shop.id), utcnow(), timedelta(hours=1))
    assert call_settings(client, bearer(shop.keys.secret_key)).status_code == 200
