"""The keys page in a real browser: its copy buttons put the webhook URL on the clipboard, under the page's CSP."""

from __future__ import annotations

from tests.admin_helpers import PASSWORD, make_user
from tests.browser.test_pages_csp import csp_violations


def test_the_copy_button_copies_the_stripe_webhook_url(browser, live_server, app, shop, artifacts):
    make_user(app, shop.shop.id, "owner@jade.example", "owner")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        messages = csp_violations(page)
        page.goto(f"{live_server}/admin/login")
        page.fill("input[name=email]", "owner@jade.example")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server}/admin/keys")
        button = page.locator('button.copy[data-copy="stripe-url"]')
        button.wait_for(state="visible")  # the script shows it: the Clipboard API is there
        button.click()
        page.wait_for_function("document.querySelector('button[data-copy=\"stripe-url\"]').textContent === 'Copied'")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == f"{live_server}/webhooks/stripe/{shop.shop.id}"
        assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages
        page.screenshot(path=str(artifacts / "admin-keys.png"), full_page=True)
    finally:
        context.close()


def test_without_javascript_the_copy_buttons_stay_hidden_and_the_url_is_shown(browser, live_server, app, shop):
    make_user(app, shop.shop.id, "owner@jade.example", "owner")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/admin/login")
        page.fill("input[name=email]", "owner@jade.example")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server}/admin/keys")
        assert page.locator("#stripe-url").inner_text() == f"{live_server}/webhooks/stripe/{shop.shop.id}"
        assert not page.locator('button.copy[data-copy="stripe-url"]').is_visible()
    finally:
        context.close()
