"""The bundled offer (shipping protection + return-shipping cover) in the demo store, in headless Chromium, at phone
width, in English and Chinese: one choice, the total price, plain words of what is covered, and a consent that
records exactly what was shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_widget import CHECKBOX, PRICE, record_events
from tests.conftest import bearer

PHONE = {"width": 375, "height": 667}


def _switch_returns_on(app, secret: str, **returns: object) -> None:
    answer = app.test_client().patch(
        "/api/v1/settings", json={"coverage": {"returns": {"enabled": True, **returns}}}, headers=bearer(secret)
    )
    assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize(
    ("lang", "returns", "title", "price"),
    [
        ("en", {}, "Shipping protection + free returns", "$15.00"),
        ("zh-CN", {}, "运输保障 + 免费退货", "15.00"),
        ("en", {"max_payout": 800}, "Shipping protection + return shipping covered", "$15.00"),
        ("zh-CN", {"payout_ratio": "0.8"}, "运输保障 + 退货运费险", "15.00"),
    ],
)
def test_one_choice_for_both_coverages_at_phone_width(
    app,
    browser,
    live_server,
    demo,
    lang,
    returns,
    title,
    price,
):
    _switch_returns_on(app, demo[2], **returns)
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server}/demo?lang={lang}")
        # 500.00 of jewelry: 2 % shipping protection ($10.00) + 1 % return cover ($5.00), one total.
        expect(page.locator(PRICE)).to_contain_text(price)
        expect(page.locator("shipping-protection .title")).to_have_text(title)
        assert page.locator(CHECKBOX).count() == 1 and not page.locator(CHECKBOX).is_checked()
        box = page.locator("shipping-protection").bounding_box()
        assert box is not None and box["width"] <= PHONE["width"]
        record_events(page)
        page.locator(CHECKBOX).check()
        page.wait_for_function("() => window.__events.length > 0")
        [event] = page.evaluate("window.__events")
        assert [c["type"] for c in event["quote"]["coverages"]] == ["shipping", "returns"]
        assert event["quote"]["customer_price"] == 1500
        consent = app.test_client().get(f"/api/v1/consents/{event['consent']}", headers=bearer(demo[2])).get_json()
        assert consent["price_shown"] == 1500 and title in consent["text_shown"]
    finally:
        context.close()
