"""GET /api/v1/badge: the trust badge's words for the shop's enabled coverages, in English or Chinese, for browsers."""

from __future__ import annotations

import pytest

from tests.conftest import bearer

FREE = {"payout_ratio": "1", "max_payout": None}
CAPPED_RATIO = {"payout_ratio": "0.8", "max_payout": None}
CAPPED_AMOUNT = {"payout_ratio": "1", "max_payout": 1500}


def configure(client, shop, *, shipping: bool, returns: bool, returns_terms: dict | None = None) -> None:
    coverage = {"shipping": {"enabled": shipping}, "returns": {"enabled": returns, **(returns_terms or FREE)}}
    response = client.patch("/api/v1/settings", json={"coverage": coverage}, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def get_badge(client, shop, query: str = "", key: str | None = None, **headers):
    return client.get(f"/api/v1/badge{query}", headers={**bearer(key or shop.keys.publishable_key), **headers})


def texts(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.get_json()
    return [(item["coverage"], item["text"]) for item in response.get_json()["items"]]


def test_the_default_shop_shows_insured_shipping(client, shop):
    response = get_badge(client, shop)
    body = response.get_json()
    assert texts(response) == [("shipping", "Insured shipping")]
    assert body["language"] == "en" and body["terms_label"] == "Terms" and body["label"] == "Shopping protections"
    assert body["terms_url"].endswith(f"/terms/{shop.shop.id}")
    assert response.headers["Cache-Control"] == "private, max-age=300"


@pytest.mark.parametrize(
    ("shipping", "returns", "returns_terms", "expected"),
    [
        (True, True, FREE, [("shipping", "Insured shipping"), ("returns", "Free returns")]),
        (True, True, CAPPED_RATIO, [("shipping", "Insured shipping"), ("returns", "Return shipping covered")]),
        (False, True, CAPPED_AMOUNT, [("returns", "Return shipping covered")]),
        (False, True, FREE, [("returns", "Free returns")]),
        (True, False, FREE, [("shipping", "Insured shipping")]),
        (False, False, FREE, []),
    ],
)
def test_each_combination_of_coverages(client, shop, shipping, returns, returns_terms, expected):
    configure(client, shop, shipping=shipping, returns=returns, returns_terms=returns_terms)
    assert texts(get_badge(client, shop)) == expected


@pytest.mark.parametrize(
    ("returns_terms", "returns_text"), [(FREE, "免费退货"), (CAPPED_RATIO, "退货运费险"), (CAPPED_AMOUNT, "退货运费险")]
)
def test_chinese_words(client, shop, returns_terms, returns_text):
    configure(client, shop, shipping=True, returns=True, returns_terms=returns_terms)
    response = get_badge(client, shop, "?locale=zh-CN")
    assert texts(response) == [("shipping", "运输保障"), ("returns", returns_text)]
    body = response.get_json()
    assert (body["language"], body["terms_label"], body["label"]) == ("zh", "条款", "购物保障")


def test_the_language_falls_back_to_accept_language_then_english(client, shop):
    assert get_badge(client, shop, **{"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()["language"] == "zh"
    assert get_badge(client, shop, "?locale=fr", **{"Accept-Language": "zh"}).get_json()["language"] == "zh"
    assert get_badge(client, shop, "?locale=fr").get_json()["language"] == "en"
    assert get_badge(client, shop, "?locale=en", **{"Accept-Language": "zh"}).get_json()["language"] == "en"


@pytest.mark.parametrize(
    "locale",
    ["<script>alert(1)</script>", "zh" + "-x" * 5000, "%00", "../../etc/passwd", "", "zh_Hans\u202e", "💥"],
)
def test_a_hostile_locale_is_answered_not_obeyed(client, shop, locale):
    response = client.get("/api/v1/badge", query_string={"locale": locale}, headers=bearer(shop.keys.publishable_key))
    assert response.status_code in (200, 422), response.status_code
    if response.status_code == 200:
        assert response.get_json()["language"] in ("en", "zh")
        assert "<script>" not in response.get_data(as_text=True)


def test_a_nul_in_the_locale_is_a_422(client, shop):
    response = client.get("/api/v1/badge?locale=zh%00", headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_the_secret_key_works_too_and_a_bad_key_is_401(client, shop):
    assert texts(get_badge(client, shop, key=shop.keys.secret_key)) == [("shipping", "Insured shipping")]
    for headers, code in (
        ({"Authorization": "Bearer pk_test_nope"}, "invalid_api_key"),
        ({}, "authentication_required"),
    ):
        response = client.get("/api/v1/badge", headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == code


def test_the_merchants_terms_url_is_the_link(client, shop):
    client.patch(
        "/api/v1/settings",
        json={"offer": {"terms_url": "https://jade.example/terms"}},
        headers=bearer(shop.keys.secret_key),
    )
    assert get_badge(client, shop).get_json()["terms_url"] == "https://jade.example/terms"


def test_another_shops_key_gets_that_shops_badge(client, shop, new_shop):
    configure(client, shop, shipping=False, returns=True)
    other = new_shop()
    assert texts(get_badge(client, shop)) == [("returns", "Free returns")]
    assert texts(get_badge(client, other)) == [("shipping", "Insured shipping")]


def test_cors_preflight_and_origins(client, shop):
    preflight = client.options(
        "/api/v1/badge",
        headers={
            "Origin": "https://jade.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204 and "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://jade.example"
    answer = get_badge(client, shop, Origin="https://anything.example")
    assert answer.headers["Access-Control-Allow-Origin"] == "https://anything.example"
    client.patch(
        "/api/v1/settings",
        json={"cors": {"allowed_origins": ["https://jade.example"]}},
        headers=bearer(shop.keys.secret_key),
    )
    assert get_badge(client, shop, Origin="https://jade.example").status_code == 200
    refused = get_badge(client, shop, Origin="https://evil.example")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
