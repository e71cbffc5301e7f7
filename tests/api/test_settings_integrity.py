"""Settings can't be bricked: a PATCH leaving the document invalid saves nothing, and stored nonsense is ignored."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Shop, ShopSecret
from plugin.schemas import SettingsSchema
from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer

LOADSURE = {"provider": "loadsure", "config": {"api_key": "ls_key_123456", "base_url": "https://portal.loadsure.net"}}
WEBHOOK_SECRET = "whsec_supersecretvalue1234"


def get(client, shop) -> dict:
    response = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def patch_raw(client, shop, raw: str):
    headers = {**bearer(shop.keys.secret_key), "Content-Type": "application/merge-patch+json"}
    return client.patch("/api/v1/settings", data=raw.encode(), headers=headers)


def secret_rows(app, shop) -> dict[str, str]:
    with app.app_context():
        rows = db.session.scalars(select(ShopSecret).where(ShopSecret.shop_id == shop.shop.id))
        return {row.name: row.ciphertext for row in rows}


def quote(client, shop):
    return client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.publishable_key))


def ship(client, shop, shipment_id: str = "ful_1"):
    body = {"order_id": "1001", "shipment_id": shipment_id, "carrier": "UPS", "tracking_number": "1Z999"}
    return client.post("/api/v1/shipments", json=body, headers=bearer(shop.keys.secret_key))


@pytest.fixture()
def configured_shop(client, shop):
    """A shop with an insurer, its credential and a Stripe secret: things a bad PATCH must not lose."""
    body = {"insurer": LOADSURE, "stripe": {"webhook_secret": WEBHOOK_SECRET}, "pricing": {"rate": "0.03"}}
    response = patch_raw(client, shop, json.dumps(body))
    assert response.status_code == 200, response.get_json()
    return shop


BAD_PATCHES = [
    ('{"insurer": {"config": [1]}}', "insurer.config"),
    ('{"insurer": {"config": 5}}', "insurer.config"),
    ('{"insurer": {"config": "base_url"}}', "insurer.config"),
    ('{"insurer": {"provider": [1]}}', "insurer.provider"),
    ('{"insurer": {"provider": {"a": 1}}}', "insurer.provider"),
    ('{"insurer": {"provider": "sandbox", "config": [1]}}', "insurer.config"),
    ('{"insurer": {"provider": "self_insured", "config": {"latency_ms": 5}}}', "insurer.config.latency_ms"),
    ('{"insurer": {"provider": "xcover", "config": {"partner_code": ["P"]}}}', "insurer.config.partner_code"),
    ('{"insurer": {"config": {"base_url": "http://[::1"}}}', "insurer.config.base_url"),
    ('{"insurer": {"config": {"base_url": ""}}}', "insurer.config.base_url"),
    ('{"insurer": {"rules": [null]}}', "insurer.rules.0"),
    ('{"insurer": {"rules": [{"max_value": 1e30, "provider": "sandbox"}]}}', "insurer.rules.0.max_value"),
    ('{"insurer": {"rules": [{"max_value": null, "provider": "xcover"}]}}', "insurer.rules.0.provider"),
    ('{"insurer": {"provider": "loadsure", "config": {"api_key": "\\ud800abc"}}}', "insurer.config.api_key"),
    ('{"insurer": {"config": {"api_key": "\\u2026ab12"}}}', "insurer.config.api_key"),
    ('{"pricing": {"bands": [1, null]}}', "pricing.bands.0"),
    ('{"pricing": {"minimum": 1e400}}', "pricing.minimum"),
    ('{"pricing": {"maximum": 123456789012345678901234567890}}', "pricing.maximum"),
    ('{"pricing": {"rate": "0.5\\n"}}', "pricing.rate"),
    ('{"pricing": {"rate": "\\u0660.\\u0665"}}', "pricing.rate"),
    ('{"pricing": {"remote_surcharge": [1]}}', "pricing.remote_surcharge"),
    # The field path names the key with its NUL shown as U+FFFD (an error body carries no control characters).
    ('{"pricing": {"category_rates": {"\\u0000x": "0.1"}}}', "pricing.category_rates.\ufffdx"),
    ('{"offer": {"title": "a\\u0000b"}}', "offer.title"),
    ('{"offer": {"title": "\\udc00"}}', "offer.title"),
    ('{"cors": {"allowed_origins": ["http://[::1"]}}', "cors.allowed_origins.0"),
    ('{"cors": {"allowed_origins": ["https://shop.example:99999"]}}', "cors.allowed_origins.0"),
    ('{"eligibility": {"excluded_skus": [1, [2]]}}', "eligibility.excluded_skus.0"),
    ('{"claims": {"lost_until_days": {"a": 1}}}', "claims.lost_until_days"),
    ('{"stripe": {"webhook_secret": ["whsec_abcdefgh1234"]}}', "stripe.webhook_secret"),
    ('{"pricing": null, "claims": []}', "claims"),
]


@pytest.mark.parametrize(("raw", "field"), BAD_PATCHES)
def test_a_patch_leaving_the_document_invalid_is_a_422_and_saves_nothing(app, client, configured_shop, raw, field):
    before, secrets_before = get(client, configured_shop), secret_rows(app, configured_shop)
    response = patch_raw(client, configured_shop, raw)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"], error["fields"]
    assert get(client, configured_shop) == before
    assert secret_rows(app, configured_shop) == secrets_before
    assert quote(client, configured_shop).status_code == 200


def test_switching_provider_with_a_bad_config_keeps_the_old_insurers_credentials(app, client, configured_shop):
    response = patch_raw(client, configured_shop, '{"insurer": {"provider": "xcover", "config": [1]}}')
    assert response.status_code == 422
    assert set(secret_rows(app, configured_shop)) >= {"insurer.config.api_key", "stripe.webhook_secret"}
    assert get(client, configured_shop)["insurer"]["config"]["api_key"] == "ls_…3456"


def test_resetting_the_provider_with_null_drops_the_old_insurers_config(app, client, configured_shop):
    response = patch_raw(client, configured_shop, '{"insurer": {"provider": null}}')
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["insurer"]["config"] == {"base_url": None, "latency_ms": 0, "failure_rate": "0"}
    assert "insurer.config.api_key" not in secret_rows(app, configured_shop)


def test_type_errors_of_money_and_rates_say_what_to_send(client, shop):
    response = patch_raw(client, shop, '{"pricing": {"minimum": "1.00", "rate": 0.02, "bands": [{"up_to": null}]}}')
    fields = response.get_json()["error"]["fields"]
    assert fields["pricing.minimum"] == ["Must be an integer of minor units (cents), such as 1999 for 19.99."]
    assert fields["pricing.rate"] == ['Must be a decimal string such as "0.015", from 0 to 1.']
    assert fields["pricing.bands.0.price"] == ["Missing data for required field."]
    ranged = patch_raw(client, shop, '{"pricing": {"round_up_to": 0, "merchant_share": "2"}}').get_json()["error"]
    assert ranged["fields"]["pricing.round_up_to"] == [
        "Must be an integer of minor units (cents) from 1 to 100000000000."
    ]
    assert "0.015" in ranged["fields"]["pricing.merchant_share"][0]


CORRUPT_OVERRIDES = [
    {"insurer": {"config": [1]}},
    {"insurer": {"provider": "loadsure", "config": 5}},
    {"insurer": {"provider": "nope", "config": {"x": 1}}},
    {"insurer": {"provider": ["sandbox"]}},
    {"insurer": {"rules": [{"provider": "xcover", "max_value": None}, 7]}},
    {"pricing": 5, "claims": None},
    {"pricing": {"minimum": 500, "maximum": 100}},
    {"pricing": {"bands": [{"up_to": 10, "price": 1}], "mode": "bands"}},
    {"claims": {"lost_after_days": 90}},
    {"offer": {"title": "a\u0000b"}, "cors": {"allowed_origins": "https://x.example"}},
    [1, 2],
    "corrupt",
]


def store_overrides(app, shop, overrides) -> None:
    """Write a shop's overrides behind the API's back, as the old PATCH did."""
    with app.app_context():
        db.session.get(Shop, shop.shop.id).settings = overrides
        db.session.commit()
    app.extensions["grant_cache"].clear()


@pytest.mark.parametrize("overrides", CORRUPT_OVERRIDES, ids=lambda value: json.dumps(value)[:60])
def test_corrupt_stored_settings_are_ignored_with_a_warning_and_the_shop_keeps_working(
    app, client, shop, overrides, caplog
):
    if "\\u0000" in json.dumps(overrides) and app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        overrides = {"offer": {"title": 5}, "cors": {"allowed_origins": "https://x.example"}}  # jsonb refuses NUL
    store_overrides(app, shop, overrides)
    with caplog.at_level(logging.WARNING, logger="plugin.services.settings"):
        settings = get(client, shop)
    SettingsSchema().load(settings)  # the effective document is a valid one
    warnings = [record for record in caplog.records if record.getMessage() == "stored settings ignored"]
    assert warnings and warnings[0].shop_id == shop.shop.id and warnings[0].fields
    assert quote(client, shop).status_code == 200
    assert ship(client, shop).status_code < 500

    # One PATCH repairs it (a provider left without credentials needs them, as any PATCH would).
    repair = {"pricing": {"rate": "0.04"}}
    if get(client, shop)["insurer"]["provider"] == "loadsure":
        repair["insurer"] = {"config": {"api_key": "ls_key_123456"}}
    repaired = patch_raw(client, shop, json.dumps(repair))
    assert repaired.status_code == 200, repaired.get_json()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="plugin.services.settings"):
        assert get(client, shop)["pricing"]["rate"] == "0.04"
    assert not [record for record in caplog.records if record.getMessage() == "stored settings ignored"]


def test_only_the_invalid_parts_of_stored_settings_are_ignored(app, client, shop):
    store_overrides(
        app,
        shop,
        {"surprise": 1, "pricing": {"rate": "0.05", "minimum": "x"}, "insurer": {"scope": "all_orders", "rules": 3}},
    )
    settings = get(client, shop)
    assert settings["pricing"]["rate"] == "0.05" and settings["pricing"]["minimum"] == 0
    assert settings["insurer"]["scope"] == "all_orders" and settings["insurer"]["rules"] == []
    assert "surprise" not in settings
