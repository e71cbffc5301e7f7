"""The shop's terms page: English or Simplified Chinese, promising only what the shop's settings switch on."""

from __future__ import annotations

import re

import pytest

from tests.conftest import bearer


def text(page) -> str:
    """The page's visible words, tags removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))


def patch(client, shop, body) -> None:
    response = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def test_english_by_default_with_the_default_rules(client, shop):
    page = client.get(f"/terms/{shop.shop.id}")
    assert page.status_code == 200 and page.headers["Content-Language"] == "en"
    words = text(page)
    assert "Shipping protection at Jade House" in words
    assert "claim from 7 days after shipping when tracking has not moved for 5 days, until 60 days" in words
    assert "claim within 15 days of delivery, with at least one photo" in words
    assert "Late parcels" not in words  # delay_compensation is 0 by default: no late-parcel cover is promised
    assert "virtual goods, custom-made items, second-hand items" in words
    assert "Parcels sent to" not in words  # no country excluded
    assert "At most 3 claims per customer in 30 days" in words
    assert 'lang="en"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "header"),
    [("?lang=zh-CN", None), ("?lang=zh", "en-US"), ("", "zh-CN,zh;q=0.9,en;q=0.5"), ("", "zh-TW")],
)
def test_simplified_chinese_by_query_or_accept_language(client, shop, query, header):
    headers = {"Accept-Language": header} if header else {}
    page = client.get(f"/terms/{shop.shop.id}{query}", headers=headers)
    assert page.headers["Content-Language"] == "zh-Hans" and "Accept-Language" in page.headers["Vary"]
    words = text(page)
    assert "Jade House 的运输保障" in words
    assert "发货 7 天后，如物流信息已 5 天未更新，可在发货后 60 天内提出索赔" in words
    assert "签收后 15 天内提出索赔，需附至少一张照片" in words
    assert "虚拟商品、定制商品、二手商品" in words
    assert "包裹延误" not in words and "Shipping protection at" not in words


def test_english_wins_when_asked_for_even_from_a_chinese_browser(client, shop):
    page = client.get(f"/terms/{shop.shop.id}?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Shipping protection at Jade House" in text(page)


def test_the_page_follows_the_shops_settings(client, shop):
    patch(
        client,
        shop,
        {
            "claims": {"delay_compensation": 1500, "delayed_after_days": 12, "damaged_requires_photo": False,
                       "stolen_within_days": 20, "lost_after_days": 10, "lost_until_days": 90,
                       "max_claims_per_customer": 0},
            "eligibility": {"excluded_categories": ["jade_carving"], "excluded_countries": ["HK", "MO"]},
        },
    )  # fmt: skip
    words = text(client.get(f"/terms/{shop.shop.id}"))
    assert "Late parcels: $15.00 when the parcel has not arrived 12 days after shipping." in words
    assert "claim within 15 days of delivery." in words and "photo" not in words
    assert "Stolen parcels: claim within 20 days of delivery." in words
    assert "claim from 10 days after shipping" in words and "until 90 days after shipping" in words
    assert "Items in these categories: jade_carving." in words and "virtual goods" not in words
    assert "Parcels sent to: Hong Kong SAR China, Macao SAR China." in words
    assert "claims per customer" not in words
    chinese = text(client.get(f"/terms/{shop.shop.id}?lang=zh-CN"))
    assert "包裹延误：发货 12 天后仍未送达，可获 US$15.00 补偿。" in chinese
    assert "寄往以下国家或地区的包裹：中国香港特别行政区、中国澳门特别行政区。" in chinese
    assert "照片" not in chinese


def test_an_unknown_shop_is_a_404(client):
    assert client.get("/terms/shop_nope").status_code == 404
