"""The widget in the demo store, in headless Chromium: price, consent, events, failures, accessibility, CSS."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import bearer

CHECKBOX = "shipping-protection input[type=checkbox]"
PRICE = "shipping-protection .price"


def record_events(page) -> None:
    page.evaluate(
        """() => { window.__events = [];
        document.querySelector('shipping-protection').addEventListener('shipping-protection:change',
          (e) => window.__events.push(JSON.parse(JSON.stringify(e.detail)))); }"""
    )


def test_the_offer_shows_the_price_unselected(page, live_server, demo):
    page.goto(f"{live_server}/demo")
    # 320.00 + 180.00 of jewelry (the gift card is virtual, so excluded) x 2 % = $10.00
    expect(page.locator(PRICE)).to_have_text("$10.00")
    checkbox = page.locator(CHECKBOX)
    assert checkbox.is_visible() and not checkbox.is_checked()
    assert page.locator("shipping-protection .title").inner_text() == "Shipping protection"
    assert page.locator("shipping-protection label").get_attribute("for") == checkbox.get_attribute("id")
    assert page.locator("shipping-protection [aria-live]").inner_text() == "Shipping protection: $10.00"


def test_selecting_records_consent_and_fires_the_event(app, page, live_server, demo):
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    record_events(page)
    page.locator(CHECKBOX).check()
    page.wait_for_function("() => window.__events.length > 0")
    [event] = page.evaluate("window.__events")
    assert event["selected"] is True
    assert event["quote"]["id"].startswith("qt_") and event["quote"]["customer_price"] == 1000
    assert event["consent"].startswith("cns_")
    consent = app.test_client().get(f"/api/v1/consents/{event['consent']}", headers=bearer(demo[2])).get_json()
    assert consent["price_shown"] == 1000 and "$10.00" in consent["text_shown"]
    page.locator(CHECKBOX).uncheck()
    page.wait_for_function("() => window.__events.length > 1")
    assert page.evaluate("window.__events[1]") == {"selected": False, "quote": event["quote"], "consent": None}


def test_changing_the_cart_updates_the_price(page, live_server, demo):
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    page.locator("tr[data-sku=JB-1] [name=quantity]").fill("2")
    expect(page.locator(PRICE)).to_have_text("$16.40")
    expect(page.locator("shipping-protection [aria-live]")).to_have_text("Shipping protection: $16.40")


def test_an_ineligible_destination_hides_the_offer(app, page, live_server, demo):
    response = app.test_client().patch(
        "/api/v1/settings", json={"eligibility": {"excluded_countries": ["HK"]}}, headers=bearer(demo[2])
    )
    assert response.status_code == 200, response.get_json()
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    page.select_option("#country", "HK")
    page.locator(CHECKBOX).wait_for(state="hidden")


def test_the_api_being_down_hides_the_offer_without_a_page_error(page, live_server, demo):
    errors, warnings = [], []
    page.on("pageerror", lambda error: errors.append(error))
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    page.route("**/api/v1/quotes", lambda route: route.abort())
    page.goto(f"{live_server}/demo")
    page.wait_for_function("() => document.querySelector('#subtotal').textContent !== ''")
    page.wait_for_timeout(800)
    assert not page.locator(CHECKBOX).is_visible()
    assert errors == []
    assert len([w for w in warnings if "shipping-protection" in w]) == 1
    assert page.locator("#pay").is_enabled()  # the checkout goes on


def test_a_slow_api_is_given_up_after_three_seconds(page, live_server, demo):
    page.route("**/api/v1/quotes", lambda route: page.wait_for_timeout(4500) or route.continue_())
    page.goto(f"{live_server}/demo")
    page.wait_for_timeout(3800)
    assert not page.locator(CHECKBOX).is_visible()
    page.unroute_all(behavior="ignoreErrors")


def test_keyboard_selection(page, live_server, demo):
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    page.locator("#email").focus()
    page.keyboard.press("Tab")  # from the last field into the widget's checkbox
    assert page.evaluate(
        "document.activeElement.tagName === 'SHIPPING-PROTECTION' && "
        "document.activeElement.shadowRoot.activeElement.type === 'checkbox'"
    )
    page.keyboard.press("Space")
    assert page.locator(CHECKBOX).is_checked()


def test_chinese_texts_for_a_chinese_page(page, live_server, demo):
    page.goto(f"{live_server}/demo?lang=zh-CN")
    page.locator(PRICE).wait_for()
    assert page.locator("shipping-protection .title").inner_text() == "运输保障"
    assert page.locator("shipping-protection a").inner_text() == "条款"
    assert "10.00" in page.locator(PRICE).inner_text()


def test_the_words_come_with_the_quote_from_the_servers_catalogue(page, live_server, demo):
    """The widget holds no words of its own: it shows and announces the quote's offer.texts."""
    source = page.request.get(f"{live_server}/static/widget/shipping-protection.js").text()
    assert not re.search(r"[\u4e00-\u9fff]", source) and "Shipping protection:" not in source

    def reworded(route) -> None:
        response = route.fetch()
        body = response.json()
        body["offer"]["texts"].update(terms="Conditions", price="Protection for {price}")
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/quotes", reworded)
    page.goto(f"{live_server}/demo")
    expect(page.locator(PRICE)).to_have_text("$10.00")
    assert page.locator("shipping-protection a").inner_text() == "Conditions"
    assert page.locator("shipping-protection [aria-live]").inner_text() == "Protection for $10.00"


def test_a_new_language_asks_for_the_words_again(page, live_server, demo):
    page.goto(f"{live_server}/demo")
    expect(page.locator("shipping-protection .title")).to_have_text("Shipping protection")
    page.evaluate("document.querySelector('shipping-protection').setAttribute('lang', 'zh-CN')")
    expect(page.locator("shipping-protection .title")).to_have_text("运输保障")
    expect(page.locator("shipping-protection a")).to_have_text("条款")


def test_hostile_store_css_does_not_break_it(page, live_server, demo, artifacts):
    page.goto(f"{live_server}/demo")
    page.add_style_tag(
        content="* { display: none; } html, body, main, form { display: block !important; }"
        " shipping-protection { display: none !important; visibility: hidden !important; }"
        " input, label, span, div, a { display: none !important; color: red !important; font-size: 60px !important; }"
    )
    page.locator(PRICE).wait_for()
    assert page.locator(PRICE).inner_text() == "$10.00"
    box = page.locator(CHECKBOX).bounding_box()
    assert box is not None and box["width"] > 5 and box["height"] > 5
    page.locator(CHECKBOX).check()
    assert page.locator(CHECKBOX).is_checked()
    page.screenshot(path=str(artifacts / "widget-hostile-css.png"))


def test_the_whole_chain_from_quote_to_insured_parcel(app, page, live_server, demo, artifacts):
    import threading

    from plugin.worker import Worker

    stop = threading.Event()
    worker = threading.Thread(target=Worker(app).run_forever, args=(stop, 0.2), daemon=True)
    worker.start()
    try:
        page.goto(f"{live_server}/demo")
        page.locator(PRICE).wait_for()
        record_events(page)
        page.locator(CHECKBOX).check()
        page.wait_for_function("() => window.__events.length > 0")
        page.screenshot(path=str(artifacts / "demo-checkout.png"), full_page=True)
        page.click("#pay")
        page.wait_for_url("**/demo/orders/*")
        page.locator("#protection-status", has_text="Protected").wait_for()
        assert "✓" in page.locator("#protection-consent").inner_text()  # the consent is linked
        page.click("#ship")
        page.locator("tr.parcel[data-policy-status=bound]").wait_for(timeout=15_000)
        assert page.locator("tr.parcel td").nth(3).inner_text().startswith("SBX-")
        page.screenshot(path=str(artifacts / "demo-order.png"), full_page=True)
    finally:
        stop.set()
        worker.join(timeout=5)
    order_id = page.locator("#order-id").inner_text()
    state = json.loads(app.test_client().get(f"/demo/orders/{order_id}/state").get_data())
    assert state["protection"]["status"] == "active" and state["policies"][0]["status"] == "bound"


NOTE = "shipping-protection .note"


@pytest.mark.parametrize(
    ("lang", "note"),
    [("en", "The shipping protection price changed to $16.40; select it again to add it."),
     ("zh-CN", "运输保障价格已变为 US$16.40，如需添加请重新勾选。")],
)  # fmt: skip
def test_a_price_change_unselects_it_and_shows_why(page, live_server, demo, lang, note):
    page.goto(f"{live_server}/demo?lang={lang}")
    page.locator(PRICE).wait_for()
    assert not page.locator(NOTE).is_visible()
    record_events(page)
    page.locator(CHECKBOX).check()
    page.wait_for_function("() => window.__events.length > 0")
    page.locator("tr[data-sku=JB-1] [name=quantity]").fill("2")
    expect(page.locator(NOTE)).to_be_visible()
    assert page.locator(NOTE).inner_text() == note
    assert not page.locator(CHECKBOX).is_checked()
    assert page.evaluate("window.__events[window.__events.length - 1].selected") is False
    page.locator(CHECKBOX).check()  # chosen again at the new price: the note has done its job
    expect(page.locator(NOTE)).to_be_hidden()


def test_a_refused_cart_names_the_field_in_a_console_error(page, live_server, demo):
    errors, warnings = [], []
    page.on("console", lambda m: (errors if m.type == "error" else warnings).append(m.text))
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    with page.expect_response("**/api/v1/quotes") as answer:
        page.fill("#region", "CA")  # a US state without its country: US-CA is the ISO 3166-2 code
    assert answer.value.status == 422
    page.locator(CHECKBOX).wait_for(state="hidden")
    for _ in range(50):  # console messages arrive asynchronously
        refusals = [e for e in errors if "shipping-protection" in e]
        if refusals:
            break
        page.wait_for_timeout(20)
    assert len(refusals) == 1 and "destination.region" in refusals[0], errors
    assert not [w for w in warnings if "slow or unavailable" in w]
    page.fill("#region", "US-CA")  # fixed: the offer comes back
    page.locator(CHECKBOX).wait_for(state="visible")
