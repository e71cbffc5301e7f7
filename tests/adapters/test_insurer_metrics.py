"""Insurer calls in /metrics: every adapter call timed, every failure counted by a small set of error kinds."""

from __future__ import annotations

import pytest

from plugin.insurers.base import InsurerAuthError, InsurerRefusedError, TransientInsurerError
from plugin.insurers.loadsure import LoadsureInsurer
from plugin.insurers.measured import ERRORS, MeasuredInsurer
from tests.api.test_observability import scrape, value
from tests.api.test_worker import policy, ship, worker
from tests.conftest import bearer
from tests.loopback_http import loopback_server
from tests.ops.test_gunicorn import free_port
from tests.stripe_helpers import protected_order

DURATION = "plugin_insurer_call_duration_seconds_count"
ERRORS_TOTAL = "plugin_insurer_errors_total"


def delta(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_bind_through_the_worker_is_timed_and_a_failing_one_counted(app, client, shop):
    before = scrape(client)
    protected_order(client, shop)
    bound = ship(client, shop)["policy"]
    assert worker(app).drain().bound == 1
    after = scrape(client)
    assert delta(before, after, DURATION, insurer="sandbox", operation="bind") == 1
    assert value(after, "plugin_insurer_call_duration_seconds_bucket", insurer="sandbox", operation="bind", le="+Inf")
    assert policy(client, shop, bound["id"])["status"] == "bound"

    # The sandbox as an insurer that is down (HTTP 503 each time): each call, the at-once repeats included.
    outage = {"insurer": {"config": {"failure_rate": "1"}}}
    assert client.patch("/api/v1/settings", json=outage, headers=bearer(shop.keys.secret_key)).status_code == 200
    protected_order(client, shop, order_id="1002")
    failing = ship(client, shop, shipment_id="ful_2", order_id="1002")["policy"]
    assert worker(app).drain().retried == 1
    later = scrape(client)
    calls = delta(after, later, DURATION, insurer="sandbox", operation="bind")
    assert calls == 3  # the first call and its two repeats (the answer was lost each time)
    assert delta(after, later, ERRORS_TOTAL, insurer="sandbox", operation="bind", error="http_5xx") == 3
    assert policy(client, shop, failing["id"])["status"] == "retrying"


@pytest.mark.parametrize(
    ("status", "raised", "kind"),
    [
        (502, TransientInsurerError, "http_5xx"),
        (422, InsurerRefusedError, "http_4xx"),
        (401, InsurerAuthError, "auth"),
    ],
)
def test_an_http_insurer_on_loopback_counts_each_failure_by_kind(app, client, parcel, status, raised, kind):
    before = scrape(client)
    with loopback_server(status=status, answer={"message": "no"}) as server:
        insurer = MeasuredInsurer(LoadsureInsurer(base_url=server.url, api_key="ls_key_123456", allow_private=True))
        with pytest.raises(raised):
            insurer.bind(parcel, "sp-key-1")
    after = scrape(client)
    assert delta(before, after, ERRORS_TOTAL, insurer="loadsure", operation="bind", error=kind) == 1
    assert delta(before, after, DURATION, insurer="loadsure", operation="bind") == 1
    assert kind in ERRORS


def test_an_insurer_that_cannot_be_reached_is_a_connection_error(app, client, parcel):
    before = scrape(client)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    insurer = MeasuredInsurer(LoadsureInsurer(base_url=closed, api_key="ls_key_123456", allow_private=True))
    with pytest.raises(TransientInsurerError):
        insurer.bind(parcel, "sp-key-2")
    after = scrape(client)
    assert delta(before, after, ERRORS_TOTAL, insurer="loadsure", operation="bind", error="connection") == 1
    # No label carries anything but the fixed kinds.
    kinds = {dict(labels)["error"] for name, labels in after if name == ERRORS_TOTAL}
    assert kinds <= set(ERRORS)
