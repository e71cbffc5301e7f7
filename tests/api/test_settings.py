"""GET and PATCH /api/v1/settings: merge-patch semantics, validation, write-only secrets."""

from __future__ import annotations

import pytest

from plugin.domain.settings import DEFAULT_SETTINGS
from plugin.extensions import db
from plugin.models import Shop, ShopSecret
from tests.conftest import bearer


def get(client, shop):
    response = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200
    return response.get_json()


def patch(client, shop, body, **kwargs):
    return client.patch("/api/v1/settings", headers=bearer(shop.keys.secret_key), json=body, **kwargs)


CONTRACT_FIELDS = [
    "pricing.mode", "pricing.rate", "pricing.category_rates", "pricing.minimum", "pricing.maximum", "pricing.bands",
    "pricing.round_up_to", "pricing.merchant_share", "pricing.max_declared_value", "pricing.remote_surcharge",
    "eligibility.excluded_countries", "eligibility.excluded_categories", "eligibility.excluded_skus",
    "stripe.webhook_secret", "stripe.api_key", "insurer.provider", "insurer.config", "insurer.scope",
    "insurer.config.base_url", "claims.auto_approve_up_to", "claims.delay_compensation",
]  # fmt: skip


def test_defaults_carry_every_contract_field(client, shop):
    settings = get(client, shop)
    for path in CONTRACT_FIELDS:
        node = settings
        for key in path.split("."):
            assert key in node, path
            node = node[key]
    assert settings["pricing"]["rate"] == "0.02" and settings["pricing"]["mode"] == "percent"
    assert settings["eligibility"]["excluded_categories"] == ["virtual", "custom", "second_hand"]
    assert settings["insurer"] == {
        "provider": "sandbox",
        "scope": "protected_orders",
        "config": {"base_url": None, "latency_ms": 0, "failure_rate": "0"},
        "rules": [],
    }


def test_merge_patch_keeps_absent_fields_resets_nulls_and_replaces_lists(client, shop):
    first = patch(
        client,
        shop,
        {"pricing": {"rate": "0.015", "minimum": 98}, "eligibility": {"excluded_skus": ["A", "B"]}},
    )
    assert first.status_code == 200
    second = patch(client, shop, {"pricing": {"minimum": None}, "eligibility": {"excluded_skus": ["C"]}}).get_json()
    assert second["pricing"]["rate"] == "0.015"
    assert second["pricing"]["minimum"] == DEFAULT_SETTINGS["pricing"]["minimum"]
    assert second["eligibility"]["excluded_skus"] == ["C"]
    assert get(client, shop) == second


def test_merge_patch_content_type_is_accepted(client, shop):
    response = client.patch(
        "/api/v1/settings",
        data='{"pricing": {"rate": "0.01"}}',
        headers={**bearer(shop.keys.secret_key), "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200 and response.get_json()["pricing"]["rate"] == "0.01"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pricing": {"rate": "1.01"}}, "pricing.rate"),
        ({"pricing": {"rate": "-0.1"}}, "pricing.rate"),
        ({"pricing": {"rate": 0.02}}, "pricing.rate"),
        ({"pricing": {"rate": "NaN"}}, "pricing.rate"),
        ({"pricing": {"merchant_share": "2"}}, "pricing.merchant_share"),
        ({"pricing": {"category_rates": {"jewelry": "1.5"}}}, "pricing.category_rates.jewelry.value"),
        ({"pricing": {"minimum": -1}}, "pricing.minimum"),
        ({"pricing": {"minimum": 10.5}}, "pricing.minimum"),
        ({"pricing": {"minimum": True}}, "pricing.minimum"),
        ({"pricing": {"minimum": "100"}}, "pricing.minimum"),
        ({"pricing": {"minimum": 10**30}}, "pricing.minimum"),
        ({"pricing": {"minimum": 500, "maximum": 100}}, "pricing.minimum"),
        ({"pricing": {"round_up_to": 0}}, "pricing.round_up_to"),
        ({"pricing": {"mode": "magic"}}, "pricing.mode"),
        ({"pricing": {"mode": "bands"}}, "pricing.bands"),
        ({"pricing": {"bands": [{"up_to": 500, "price": 1}, {"up_to": 100, "price": 2}, {"up_to": None, "price": 3}]}},
         "pricing.bands"),
        ({"pricing": {"bands": [{"up_to": 500, "price": 1}]}}, "pricing.bands"),
        ({"pricing": {"bands": [{"up_to": None, "price": 1}, {"up_to": 5, "price": 2}]}}, "pricing.bands"),
        ({"pricing": {"bands": [{"up_to": None, "price": -1}]}}, "pricing.bands.0.price"),
        ({"pricing": {"remote_surcharge": {"regions": ["CN-ZZ"], "amount": 300}}}, "pricing.remote_surcharge.regions.0"),
        ({"eligibility": {"excluded_countries": ["XX"]}}, "eligibility.excluded_countries.0"),
        ({"eligibility": {"excluded_countries": ["us"]}}, "eligibility.excluded_countries.0"),
        ({"eligibility": {"excluded_categories": "virtual"}}, "eligibility.excluded_categories"),
        ({"pricing": {"unknown": 1}}, "pricing.unknown"),
        ({"surprise": {}}, "surprise"),
        ({"stripe": {"webhook_secret": "not-a-secret"}}, "stripe.webhook_secret"),
        ({"stripe": {"api_key": "pk_test_abcdefghijk"}}, "stripe.api_key"),
        ({"insurer": {"provider": "acme"}}, "insurer.provider"),
        ({"insurer": {"scope": "everything"}}, "insurer.scope"),
        ({"insurer": {"config": {"latency_ms": -5}}}, "insurer.config.latency_ms"),
        ({"insurer": {"config": {"partner_code": "X"}}}, "insurer.config.partner_code"),
        ({"insurer": {"provider": "xcover", "config": {"partner_code": "P1"}}}, "insurer.config.api_key"),
        ({"insurer": {"provider": "loadsure", "config": {"api_key": "k" * 20, "base_url": "ftp://x"}}},
         "insurer.config.base_url"),
        ({"claims": {"lost_after_days": 90}}, "claims.lost_until_days"),
        ({"claims": {"damaged_requires_photo": 1}}, "claims.damaged_requires_photo"),
        ({"cors": {"allowed_origins": ["https://shop.example/path"]}}, "cors.allowed_origins.0"),
        ({"offer": {"terms_url": "javascript:alert(1)"}}, "offer.terms_url"),
    ],
)  # fmt: skip
def test_invalid_settings_are_a_422_naming_the_field_and_change_nothing(client, shop, body, field):
    before = get(client, shop)
    response = patch(client, shop, body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error["fields"]
    assert get(client, shop) == before


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "42"])
def test_a_patch_that_is_not_an_object_is_a_422(client, shop, body):
    response = client.patch("/api/v1/settings", data=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"body": ["Must be a JSON object."]}


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/x", "https://10.0.0.8", "https://169.254.169.254/latest", "https://localhost:8443",
            "https://[::1]/", "https://db.internal/", "http://api.xcover.com"],
)  # fmt: skip
def test_insurer_urls_on_private_hosts_are_refused(client, shop, url):
    response = patch(
        client,
        shop,
        {"insurer": {"provider": "loadsure", "config": {"api_key": "ls_key_123456", "base_url": url}}},
    )
    assert response.status_code == 422
    assert "insurer.config.base_url" in response.get_json()["error"]["fields"]


def test_private_insurer_hosts_are_allowed_when_the_operator_says_so(client, shop, app):
    app.config["ALLOW_PRIVATE_INSURER_HOSTS"] = True
    try:
        response = patch(
            client,
            shop,
            {
                "insurer": {
                    "provider": "loadsure",
                    "config": {"api_key": "ls_key_123456", "base_url": "http://127.0.0.1:9"},
                }
            },
        )
    finally:
        app.config["ALLOW_PRIVATE_INSURER_HOSTS"] = False
    assert response.status_code == 200
    assert response.get_json()["insurer"]["config"]["base_url"] == "http://127.0.0.1:9"


def test_secrets_are_write_only_encrypted_and_masked(client, shop, app):
    body = {
        "stripe": {"webhook_secret": "whsec_supersecretvalue1234", "api_key": "rk_test_abcdefghijklmnop9876"},
        "insurer": {
            "provider": "xcover",
            "config": {
                "partner_code": "JADE01",
                "api_key": "xc-key-0000-1111",
                "api_secret": "xc-secret-2222-3333",
            },
        },
    }
    response = patch(client, shop, body)
    assert response.status_code == 200, response.get_json()
    settings = response.get_json()
    assert settings["stripe"] == {
        "webhook_secret": "whsec_…1234",
        "previous_webhook_secret": None,
        "api_key": "rk_…9876",
    }
    assert settings["insurer"]["config"] == {
        "base_url": "https://api.xcover.com/xcover",
        "partner_code": "JADE01",
        "claims_base_url": "https://api.xclaim.xcover.com",
        "api_key": "…1111",
        "api_secret": "…3333",
    }
    raw = response.get_data(as_text=True)
    assert "supersecretvalue" not in raw and "xc-secret" not in raw
    with app.app_context():
        rows = db.session.query(ShopSecret).filter_by(shop_id=shop.shop.id).all()
        assert all("supersecret" not in row.ciphertext for row in rows)
        stored = db.session.get(Shop, shop.shop.id).settings
        assert "api_secret" not in str(stored) and "whsec" not in str(stored)
        box = app.extensions["secret_box"]
        clear = {row.name: box.decrypt(row.ciphertext) for row in rows}
        assert clear["stripe.webhook_secret"] == "whsec_supersecretvalue1234"

    # Sending back what GET showed keeps the secrets; null removes one.
    again = patch(client, shop, settings).get_json()
    assert again["stripe"]["webhook_secret"] == "whsec_…1234"
    cleared = patch(client, shop, {"stripe": {"api_key": None}}).get_json()
    assert cleared["stripe"] == {
        "webhook_secret": "whsec_…1234",
        "previous_webhook_secret": None,
        "api_key": None,
    }


def test_switching_insurer_drops_the_old_insurers_credentials(client, shop):
    xcover = {
        "provider": "xcover",
        "config": {"partner_code": "P", "api_key": "xc-key-0000", "api_secret": "xc-sec-0000"},
    }
    assert patch(client, shop, {"insurer": xcover}).status_code == 200
    response = patch(client, shop, {"insurer": {"provider": "self_insured"}})
    assert response.status_code == 200
    assert response.get_json()["insurer"]["config"] == {"base_url": None}
    back = patch(client, shop, {"insurer": {"provider": "xcover", "config": {"partner_code": "P"}}})
    assert back.status_code == 422  # the credentials did not come back with it
    assert set(back.get_json()["error"]["fields"]) == {"insurer.config.api_key", "insurer.config.api_secret"}


def test_secret_fields_of_another_provider_are_refused(client, shop):
    response = patch(client, shop, {"insurer": {"config": {"api_secret": "abc"}}})
    assert response.status_code == 422
    assert "insurer.config.api_secret" in response.get_json()["error"]["fields"]
