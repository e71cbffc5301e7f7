"""The demo store on a phone and in words: no sideways scrolling, no status codes, one Ship, prices read right."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from plugin.worker import Worker
from tests.browser.test_widget import PRICE

PHONE = {"width": 390, "height": 844}
CODES = ("bound", "active", "pending", "not_protected", "needs_review", "in_transit", "HTTP", "202", "409")


@pytest.fixture()
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture()
def worker(app):
    stop = threading.Event()
    thread = threading.Thread(target=Worker(app).run_forever, args=(stop, 0.2), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def assert_no_sideways_scrolling(page) -> None:
    widths = page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px viewport"


def pay_and_open_the_order(page, live_server, select: bool = True) -> None:
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    if select:
        page.evaluate("""() => new Promise((resolve) => document.querySelector('shipping-protection')
            .addEventListener('shipping-protection:change', resolve, {once: true}))
            && document.querySelector('shipping-protection').shadowRoot.querySelector('input').click()""")
        page.wait_for_function("() => document.querySelector('shipping-protection').selected")
    page.click("#pay")
    page.wait_for_url("**/demo/orders/*")


def test_no_sideways_scrolling_on_a_phone(phone, live_server, demo, artifacts):
    phone.goto(f"{live_server}/demo")
    phone.locator(PRICE).wait_for()
    assert_no_sideways_scrolling(phone)
    phone.screenshot(path=str(artifacts / "demo-checkout-390.png"), full_page=True)
    pay_and_open_the_order(phone, live_server)
    phone.click("#ship")
    phone.locator("tr.parcel").wait_for()  # the widest row: tracking number, policy, certificate, amounts
    assert_no_sideways_scrolling(phone)
    phone.screenshot(path=str(artifacts / "demo-order-390.png"), full_page=True)


def test_the_order_page_speaks_in_words(page, live_server, demo, worker):
    pay_and_open_the_order(page, live_server)
    expect(page.locator("#protection-status")).to_have_text("Protected")
    page.click("#ship")
    page.locator("tr.parcel[data-policy-status=bound]").wait_for(timeout=15_000)
    parcel = page.locator("tr.parcel td")
    expect(parcel.nth(2)).to_have_text("Insured")
    assert "Shipped" in parcel.nth(1).inner_text()
    shown = page.locator("#order").inner_text()
    # Whole words only: a random order number such as D5440934586 holds "409" without being a status code.
    assert not [code for code in CODES if re.search(rf"\b{code}\b", shown)], shown


def test_an_unprotected_order_says_so_in_words(page, live_server, demo):
    pay_and_open_the_order(page, live_server, select=False)
    expect(page.locator("#protection-status")).to_have_text("Not protected (yet)")
    page.click("#ship")
    expect(page.locator("tr.parcel td").nth(2)).to_have_text("Not protected")


def test_ship_is_disabled_once_everything_has_shipped(app, page, live_server, demo):
    pay_and_open_the_order(page, live_server)
    ship = page.locator("#ship")
    expect(ship).to_be_enabled()
    ship.click()
    expect(ship).to_be_disabled()
    expect(ship).to_have_text("Everything has shipped")
    page.reload()
    expect(ship).to_be_disabled()
    assert page.locator("tr.parcel").count() == 1
    order_id = page.locator("#order-id").inner_text()
    again = page.request.post(
        f"{live_server}/demo/orders/{order_id}/ship",
        headers={"X-CSRFToken": page.locator("meta[name=csrf-token]").get_attribute("content")},
    )
    assert again.status == 409 and again.json()["error"]["message"] == "Everything in this order has shipped."
    assert len(app.test_client().get(f"/demo/orders/{order_id}/state").get_json()["shipments"]) == 1


@pytest.mark.parametrize(("typed", "cents"), [("1,200.00", 120000), ("1200", 120000), ("12,5", 1250), ("0.29", 29)])
def test_a_typed_price_is_read_as_written(page, live_server, demo, typed, cents):
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    page.fill("tr[data-sku=PN-7] [name=quantity]", "0")
    page.fill("tr[data-sku=GC-1] [name=quantity]", "0")
    with page.expect_request("**/api/v1/quotes") as sent:
        page.fill("tr[data-sku=JB-1] [name=price]", typed)
    assert sent.value.post_data_json["items"][0]["unit_price"] == cents
    expect(page.locator("#subtotal")).to_have_text(f"${cents // 100:,}.{cents % 100:02d}")


@pytest.mark.parametrize("typed", ["1.200,00", "12.345", "abc", "1,20,0"])
def test_an_unreadable_price_is_refused_with_a_message_never_zero(page, live_server, demo, typed):
    page.goto(f"{live_server}/demo")
    page.locator(PRICE).wait_for()
    quotes = []
    page.on("request", lambda r: quotes.append(r) if r.url.endswith("/api/v1/quotes") else None)
    page.fill("tr[data-sku=JB-1] [name=price]", typed)
    problem = page.locator("#price-problem")
    expect(problem).to_be_visible()
    assert problem.inner_text() == "Check the price of Jade bangle: type it like 1,200.00."
    expect(page.locator("#pay")).to_be_disabled()
    assert page.locator("tr[data-sku=JB-1] [name=price]").get_attribute("aria-invalid") == "true"
    page.wait_for_timeout(400)  # longer than the widget's debounce: no quote was asked for a 0 price
    assert quotes == []
    page.fill("tr[data-sku=JB-1] [name=price]", "320.00")
    expect(problem).to_be_hidden()
    expect(page.locator("#pay")).to_be_enabled()
