"""/admin/deliveries: webhooks received (source, outcome, dates, delivery id) and events sent to the merchant's
endpoints (each delivery's status, attempts, last error, and a retry on failed ones), with their CSV exports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from plugin.admin import deliveries_pages
from plugin.extensions import db
from plugin.models import Job
from tests.admin_helpers import csrf_token
from tests.list_helpers import add_delivery, add_endpoint, add_event, at, csv_rows, row_ids, walk_pages
from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event


def _ids(client, query: str = "") -> list[str]:
    answer = client.get("/admin/deliveries" + query)
    assert answer.status_code == 200, answer.status_code
    return row_ids(answer.get_data(as_text=True))


@pytest.fixture()
def inbound(app: Flask, shop, new_shop) -> dict[str, str]:
    sid = shop.shop.id
    made = {
        "paid": add_delivery(
            app, sid, "stripe", "evt_paid", at(30), topic="payment_intent.succeeded", outcome="applied"
        ),
        "ignored": add_delivery(app, sid, "stripe", "evt_x", at(20), topic="customer.created", outcome="ignored"),
        "shipped": add_delivery(app, sid, "platform", "wh_1", at(10), topic="fulfillments/create", outcome="applied"),
        "garbled": add_delivery(app, sid, "platform", "sha256:ab", at(0), topic="", outcome="unreadable"),
    }
    other = new_shop("Other House").shop.id
    made["theirs"] = add_delivery(app, other, "stripe", "evt_paid", at(40), topic="charge.refunded", outcome="applied")
    return {name: str(value) for name, value in made.items()}


def test_received_newest_first_and_only_this_shops(owner_client, inbound):
    assert _ids(owner_client) == [inbound[name] for name in ("paid", "ignored", "shipped", "garbled")]
    assert _ids(owner_client, "?tab=inbound") == _ids(owner_client)


def test_received_filters_and_search(owner_client, inbound):
    assert _ids(owner_client, "?source=platform") == [inbound["shipped"], inbound["garbled"]]
    assert _ids(owner_client, "?outcome=applied") == [inbound["paid"], inbound["shipped"]]
    assert _ids(owner_client, "?outcome=applied&source=stripe") == [inbound["paid"]]
    assert _ids(owner_client, "?q=evt_paid") == [inbound["paid"]]
    assert _ids(owner_client, "?q=evt_paid&source=platform") == []
    assert _ids(owner_client, "?from=2026-11-20&to=2026-11-20") == _ids(owner_client)
    assert _ids(owner_client, "?to=2026-11-19") == []


def test_a_real_stripe_delivery_is_listed_with_what_it_did(client, owner_client, shop):
    configure_stripe(client, shop)
    event = payment_intent_event({"order_id": "1001"}, pi_id="pi_plain")
    assert deliver(client, shop.shop.id, event).status_code == 200
    text = owner_client.get("/admin/deliveries?source=stripe").get_data(as_text=True)
    assert event["id"] in text and "payment_intent.succeeded" in text and "order_recorded" in text


def test_received_pages_with_equal_times(app, owner_client, shop):
    made = [
        str(add_delivery(app, shop.shop.id, "stripe", f"evt_{n}", at(n % 3), topic="t", outcome="applied"))
        for n in range(8)
    ]
    whole = _ids(owner_client)
    assert sorted(whole) == sorted(made)
    for limit in (1, 3, 7):
        assert [row for page in walk_pages(owner_client, f"/admin/deliveries?limit={limit}") for row in page] == whole


def test_received_csv(app, owner_client, shop):
    made = add_delivery(
        app, shop.shop.id, "platform", "=1+1", datetime(2026, 11, 20, 7, 0, tzinfo=UTC), topic="orders/cancelled",
        outcome="applied",
    )  # fmt: skip
    assert csv_rows(owner_client.get("/admin/deliveries?format=csv")) == [
        list(deliveries_pages.INBOUND_HEADER),
        [str(made), "2026-11-20T07:00:00Z", "platform", "orders/cancelled", "'=1+1", "applied"],
    ]


@pytest.fixture()
def outbound(app: Flask, shop, new_shop) -> dict[str, tuple[str, str]]:
    sid = shop.shop.id
    endpoint = add_endpoint(app, sid, "https://hooks.jade.example/in")
    made = {
        "failed": add_event(app, sid, "policy.failed", at(30), endpoint, status="failed", last_error="answered 500"),
        "sent": add_event(app, sid, "claim.created", at(20), endpoint),
        "waiting": add_event(app, sid, "claim.updated", at(10), endpoint, status="retrying", last_error="timeout"),
        "gone": add_event(app, sid, "claim.updated", at(0), "whe_removed"),
    }
    other = new_shop("Other House").shop.id
    made["theirs"] = add_event(app, other, "policy.failed", at(40), add_endpoint(app, other, "https://x.example/"))
    return made


def test_sent_events_with_each_deliverys_status(owner_client, outbound):
    jobs = [outbound[name][1] for name in ("failed", "sent", "waiting", "gone")]
    assert _ids(owner_client, "?tab=outbound") == jobs
    text = owner_client.get("/admin/deliveries?tab=outbound").get_data(as_text=True)
    assert "https://hooks.jade.example/in" in text and "answered 500" in text and "Removed endpoint" in text
    assert f"/admin/jobs/{outbound['failed'][1]}/retry" in text
    assert f"/admin/jobs/{outbound['sent'][1]}/retry" not in text
    assert "https://x.example/" not in text


def test_sent_filters_and_search(owner_client, outbound):
    assert _ids(owner_client, "?tab=outbound&status=failed") == [outbound["failed"][1]]
    assert _ids(owner_client, "?tab=outbound&status=retrying") == [outbound["waiting"][1]]
    assert _ids(owner_client, f"?tab=outbound&q={outbound['sent'][0]}") == [outbound["sent"][1]]
    assert _ids(owner_client, f"?tab=outbound&q={outbound['gone'][1]}") == [outbound["gone"][1]]
    assert _ids(owner_client, f"?tab=outbound&q={outbound['theirs'][0]}") == []
    assert _ids(owner_client, "?tab=outbound&from=2026-11-21") == []


def test_sent_csv(app, owner_client, shop):
    endpoint = add_endpoint(app, shop.shop.id, "https://hooks.jade.example/in")
    event, job = add_event(
        app, shop.shop.id, "policy.failed", datetime(2026, 11, 20, 6, 0, tzinfo=UTC), endpoint, status="failed",
        last_error="+answered 500",
    )  # fmt: skip
    assert csv_rows(owner_client.get("/admin/deliveries?tab=outbound&format=csv")) == [
        list(deliveries_pages.OUTBOUND_HEADER),
        [event, "policy.failed", "2026-11-20T06:00:00Z", endpoint, "https://hooks.jade.example/in", job, "failed",
         "8", "8", "'+answered 500", "", "2026-11-20T06:00:00Z"],
    ]  # fmt: skip


def test_a_failed_delivery_is_retried_from_the_tab(app, staff_client, outbound):
    job = outbound["failed"][1]
    answer = staff_client.post(
        f"/admin/jobs/{job}/retry",
        data={"csrf_token": csrf_token(staff_client, "/admin/deliveries?tab=outbound"), "next": "/admin/deliveries?tab=outbound"},
    )  # fmt: skip
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/deliveries?tab=outbound"
    with app.app_context():
        assert db.session.get(Job, job).status == "queued"


@pytest.mark.parametrize(
    "query", ["?tab=sideways", "?source=paypal", "?status=lost&tab=outbound", "?from=20261120", "?q=%00"]
)
def test_bad_filters_are_a_400_page(owner_client, inbound, query):
    assert owner_client.get("/admin/deliveries" + query).status_code == 400
