"""Stripe API calls in /metrics: timed, and a failing one counted by its kind."""

from __future__ import annotations

import pytest
import responses

from plugin.payments.stripe_api import StripeApi, StripeApiError
from tests.api.test_observability import scrape, value
from tests.api.test_stripe_api_calls import LINE_ITEMS, STRIPE, item, line_items_page


@pytest.mark.parametrize(
    ("status", "kind"), [(500, "http_5xx"), (401, "auth"), (429, "rate_limited"), (400, "http_4xx")]
)
def test_each_stripe_call_is_timed_and_a_failure_counted_by_kind(client, status, kind):
    api = StripeApi("rk_test_metrics0000", STRIPE, max_network_retries=0)
    before = scrape(client)
    with responses.RequestsMock() as stripe_api:
        stripe_api.get(LINE_ITEMS, json=line_items_page(item(1000, True, "li_1")))
        assert len(api.checkout_line_items("cs_ok")) == 1
        stripe_api.replace(responses.GET, LINE_ITEMS, status=status, json={"error": {"message": "no"}})
        with pytest.raises(StripeApiError):
            api.checkout_line_items("cs_failing")
    after = scrape(client)
    labels = {"operation": "checkout_line_items"}
    timed = "plugin_stripe_call_duration_seconds_count"
    assert value(after, timed, **labels) - value(before, timed, **labels) == 2
    errors = "plugin_stripe_errors_total"
    assert value(after, errors, error=kind, **labels) - value(before, errors, error=kind, **labels) == 1
