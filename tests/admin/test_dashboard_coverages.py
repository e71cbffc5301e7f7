"""The dashboard shows each coverage's figures when the return cover is, or was, on."""

from __future__ import annotations

import html
import re

from tests.i18n_helpers import zh
from tests.report_helpers import coverage_history, hand_computed_history

CUSTOM = {"period": "custom", "from": "2026-03-01", "to": "2026-03-03"}
_CARD = re.compile(r'data-figure="coverages\.(\w+)\.(\w+)">.*?<div class="value[^"]*">(.*?)</div>', re.DOTALL)


def coverage_cards(page: str) -> dict[tuple[str, str], str]:
    return {
        (coverage, figure): html.unescape(re.sub(r"<[^>]+>", "", value)).strip()
        for coverage, figure, value in _CARD.findall(page)
    }


def test_both_coverages_figures_when_returns_were_bought(app, owner_client, shop):
    coverage_history(app, shop.shop.id)
    page = owner_client.get("/admin/", query_string=CUSTOM)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    shown = coverage_cards(text)
    assert "Return shipping cover" in text and "Shipping cover" in text
    assert shown[("shipping", "protected_orders")] == "2"
    assert shown[("shipping", "premium_collected")] == "$20.00"
    assert shown[("shipping", "claims_paid_amount")] == "$30.00"
    assert shown[("returns", "protected_orders")] == "3"
    assert shown[("returns", "premium_collected")] == "$6.50"
    assert shown[("returns", "merchant_contribution")] == "$2.50"
    assert shown[("returns", "claims_paid")] == "1"
    assert shown[("returns", "claims_paid_amount")] == "$6.00"
    assert shown[("returns", "loss_ratio")] == "92.31%"


def test_in_chinese(app, owner_client, shop):
    coverage_history(app, shop.shop.id)
    text = owner_client.get("/admin/", query_string=CUSTOM, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert zh("Return shipping cover") in text


def test_no_coverage_groups_while_returns_never_were_on(app, client, owner_client, shop):
    hand_computed_history(app, shop.shop.id)
    text = owner_client.get("/admin/", query_string=CUSTOM).get_data(as_text=True)
    assert coverage_cards(text) == {}
    assert "Return shipping cover" not in text
    # Switched on, with nothing bought yet: both coverages show, the returns one at zero.
    response = client.patch(
        "/api/v1/settings",
        json={"coverage": {"returns": {"enabled": True}}},
        headers={"Authorization": f"Bearer {shop.keys.secret_key}"},
    )
    assert response.status_code == 200
    shown = coverage_cards(owner_client.get("/admin/", query_string=CUSTOM).get_data(as_text=True))
    assert shown[("returns", "protected_orders")] == "0"
    assert shown[("shipping", "protected_orders")] == "3"


def test_the_protection_page_shows_what_was_bought(app, client, owner_client, shop):
    from tests.api.test_coverage_quotes import CART, RETURNS_ON, patch_settings, quote
    from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event, protected_metadata, protections

    configure_stripe(client, shop)
    patch_settings(client, shop, RETURNS_ON)
    body = quote(client, shop, {**CART, "shipping_method": {"carrier": "SF Express"}})
    event = payment_intent_event(protected_metadata(body, "3001"), pi_id="pi_page", amount=51250)
    assert deliver(client, shop.shop.id, event).status_code == 200
    [protection] = protections(client, shop, order_id="3001")
    text = owner_client.get(f"/admin/protections/{protection['id']}").get_data(as_text=True)
    facts = text.split('id="coverages">', 1)[1].split("</dd>", 1)[0]
    assert "Shipping cover" in facts and "Return shipping cover" in facts and "$2.50" in facts
    assert "SF Express" in text
