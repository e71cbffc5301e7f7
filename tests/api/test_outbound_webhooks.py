"""Outbound webhooks: endpoints in settings, signed deliveries to a loopback receiver, retries with one event id."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from plugin.domain.webhooks import verify
from plugin.extensions import db
from plugin.insurers.base import InsurerRefusedError
from plugin.models import Job, WebhookEvent
from tests.api.test_worker import Clock, ScriptedInsurer, ship, worker
from tests.claim_helpers import claim, shipped_order
from tests.conftest import bearer
from tests.loopback_http import LoopbackServer, loopback_server
from tests.stripe_helpers import protected_order


@pytest.fixture()
def private_hosts(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_WEBHOOK_HOSTS", True)


def add_endpoint(client, shop, url: str, events: list[str]) -> dict[str, Any]:
    answer = client.patch(
        "/api/v1/settings",
        json={"webhooks": {"endpoints": [{"url": url, "events": events}]}},
        headers=bearer(shop.keys.secret_key),
    )
    assert answer.status_code == 200, answer.get_json()
    (endpoint,) = answer.get_json()["webhooks"]["endpoints"]
    return endpoint


def deliveries(server: LoopbackServer, secret: str, tolerance: int = 300) -> list[dict[str, Any]]:
    """The events received, each checked against its signature (signed within `tolerance` seconds of now)."""
    events = []
    now = int(time.time())
    for request in server.received:
        assert request.headers["Content-Type"] == "application/json"
        assert verify(request.headers["Plugin-Signature"], request.body, secret, now, tolerance)
        assert not verify(request.headers["Plugin-Signature"], request.body + b" ", secret, now, tolerance)
        assert not verify(request.headers["Plugin-Signature"], request.body, "whsec_other", now, tolerance)
        events.append(json.loads(request.body))
    return events


def test_an_endpoint_gets_an_id_and_a_secret_shown_once(app, client, shop, private_hosts):
    endpoint = add_endpoint(client, shop, "http://127.0.0.1:9/hooks", ["claim.created", "claim.created"])
    assert endpoint["id"].startswith("whe_") and endpoint["events"] == ["claim.created"]
    assert endpoint["secret"].startswith("whsec_") and len(endpoint["secret"]) == 6 + 64
    shown = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).get_json()["webhooks"]["endpoints"]
    assert shown == [{**endpoint, "secret": "whsec_…" + endpoint["secret"][-4:]}]
    # Sent back as GET shows it, with another URL: same endpoint, same secret (still masked).
    kept = client.patch(
        "/api/v1/settings",
        json={"webhooks": {"endpoints": [{**shown[0], "url": "http://127.0.0.1:9/v2", "events": ["*"]}]}},
        headers=bearer(shop.keys.secret_key),
    ).get_json()["webhooks"]["endpoints"]
    assert kept == [{**shown[0], "url": "http://127.0.0.1:9/v2", "events": ["*"]}]
    rolled = client.patch(
        "/api/v1/settings",
        json={
            "webhooks": {"endpoints": [{"id": endpoint["id"], "url": kept[0]["url"], "events": ["*"], "secret": None}]}
        },
        headers=bearer(shop.keys.secret_key),
    ).get_json()["webhooks"]["endpoints"]
    assert rolled[0]["id"] == endpoint["id"] and rolled[0]["secret"] not in (endpoint["secret"], kept[0]["secret"])
    assert len(rolled[0]["secret"]) == 70
    cleared = client.patch("/api/v1/settings", json={"webhooks": None}, headers=bearer(shop.keys.secret_key))
    assert cleared.get_json()["webhooks"] == {"endpoints": []}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"url": "http://127.0.0.1:9/hooks", "events": ["*"]}, "webhooks.endpoints.0.url"),
        ({"url": "https://10.0.0.5/hooks", "events": ["*"]}, "webhooks.endpoints.0.url"),
        ({"url": "https://localhost/hooks", "events": ["*"]}, "webhooks.endpoints.0.url"),
        ({"url": "https://hooks.example.com", "events": ["claim.deleted"]}, "webhooks.endpoints.0.events.0"),
        ({"url": "https://hooks.example.com", "events": []}, "webhooks.endpoints.0.events"),
        ({"url": "https://hooks.example.com", "events": ["*"], "id": "whe_nope"}, "webhooks.endpoints.0.id"),
        ({"url": "https://hooks.example.com", "events": ["*"], "secret": "whsec_mine"}, "webhooks.endpoints.0.secret"),
        ({"url": "https://hooks.example.com", "events": ["*"], "colour": 1}, "webhooks.endpoints.0.colour"),
    ],
)
def test_unsafe_or_malformed_endpoints_are_a_422_that_changes_nothing(client, shop, item, field):
    answer = client.patch(
        "/api/v1/settings",
        json={"webhooks": {"endpoints": [item]}, "claims": {"auto_approve_up_to": 5}},
        headers=bearer(shop.keys.secret_key),
    )
    assert answer.status_code == 422
    assert field in answer.get_json()["error"]["fields"]
    after = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).get_json()
    assert after["webhooks"] == {"endpoints": []} and after["claims"]["auto_approve_up_to"] == 0


def test_a_claim_is_delivered_signed_and_a_500_then_200_sends_the_same_event_twice(app, client, shop, private_hosts):
    with loopback_server() as server:
        endpoint = add_endpoint(client, shop, server.url + "/hooks", ["claim.created"])
        shipped_order(client, shop)
        server.statuses = [500]
        filed = claim(client, shop).get_json()
        assert server.received == []  # nothing leaves inside the web request
        stats = worker(app).drain()
        assert stats.ok, stats.failures
        first, second = deliveries(server, endpoint["secret"])
    assert first == second
    assert first["id"].startswith("evt_") and first["type"] == "claim.created" and first["object"] == "event"
    assert first["data"]["id"] == filed["id"] and first["data"]["status"] == filed["status"]
    assert first["data"]["object"] == "claim" and isinstance(first["created"], int)
    assert server.received[0].path == "/hooks"


def test_an_endpoint_that_keeps_failing_is_retried_later_with_the_same_event(app, client, shop, private_hosts):
    with loopback_server(status=503) as server:
        endpoint = add_endpoint(client, shop, server.url, ["*"])
        shipped_order(client, shop)
        claim_id = claim(client, shop).get_json()["id"]
        client.post(f"/api/v1/claims/{claim_id}/deny", json={"reason": "No."}, headers=bearer(shop.keys.secret_key))
        clock = Clock()
        stats = worker(app, clock=clock).drain()
        assert stats.jobs_retrying == 2  # filed and denied apart: claim.created, then claim.updated
        failed_tries = deliveries(server, endpoint["secret"])
        assert len(failed_tries) == 6  # each tried three times at once (two immediate repeats), then backing off
        with app.app_context():
            retrying = db.session.scalars(select(Job).where(Job.kind == "deliver_webhook", Job.status == "retrying"))
            assert all("503" in (job.last_error or "") for job in retrying)
        server.status = 200
        assert worker(app, clock=clock).drain().jobs_succeeded == 0  # not before the backoff
        clock.advance(seconds=app.config["JOB_RETRY_BASE_SECONDS"] * 1.3)
        assert worker(app, clock=clock).drain().ok
        events = deliveries(server, endpoint["secret"], tolerance=3600)  # the worker's clock ran ahead
    assert len(events) == 8
    by_type = {event["type"]: event for event in failed_tries}
    assert set(by_type) == {"claim.created", "claim.updated"}
    assert sorted(event["id"] for event in events[6:]) == sorted(event["id"] for event in by_type.values())
    assert all(later == by_type[later["type"]] for later in events[6:])  # the very same events, byte for byte
    assert by_type["claim.updated"]["data"]["status"] == "denied"
    assert by_type["claim.updated"]["data"]["deny_reason"] == "No."


def test_a_claim_filed_and_decided_at_once_is_one_event_of_its_final_state(app, client, shop, private_hosts):
    with loopback_server() as server:
        endpoint = add_endpoint(client, shop, server.url, ["claim.created", "claim.updated"])
        shipped_order(client, shop)
        settings_answer = client.patch(
            "/api/v1/settings", json={"claims": {"auto_approve_up_to": 10**9}}, headers=bearer(shop.keys.secret_key)
        )
        assert settings_answer.status_code == 200
        filed = claim(client, shop).get_json()
        assert worker(app).drain().ok
        events = deliveries(server, endpoint["secret"])
    assert [(event["type"], event["data"]["status"]) for event in events] == [("claim.created", filed["status"])]


def test_unsubscribed_events_are_not_recorded_or_sent(app, client, shop, private_hosts):
    with loopback_server() as server:
        add_endpoint(client, shop, server.url, ["tracking.stalled"])
        shipped_order(client, shop)
        claim(client, shop)
        assert worker(app).drain().ok
        assert server.received == []
    with app.app_context():
        assert db.session.scalars(select(WebhookEvent)).first() is None


def test_a_url_that_became_private_is_refused_at_send_time(app, client, shop, private_hosts, monkeypatch):
    add_endpoint(client, shop, "https://127.0.0.1:9/hooks", ["*"])
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_WEBHOOK_HOSTS", False)
    shipped_order(client, shop)
    claim(client, shop)
    stats = worker(app).drain()
    assert stats.jobs_failed == 1
    assert stats.failures[0]["error"].startswith("the webhook URL points at a private")


def test_a_failed_policy_emits_policy_failed(app, client, shop, private_hosts):
    with loopback_server() as server:
        endpoint = add_endpoint(client, shop, server.url, ["policy.failed"])
        protected_order(client, shop)
        pending = ship(client, shop)["policy"]
        insurer = ScriptedInsurer([InsurerRefusedError("quote: HTTP 422: Commodity excluded")])
        worker(app, insurer).drain()
        worker(app, insurer).drain()  # the event's delivery was queued by the failure
        (event,) = deliveries(server, endpoint["secret"])
    assert event["type"] == "policy.failed"
    assert event["data"]["id"] == pending["id"] and event["data"]["status"] == "failed"
    assert "Commodity excluded" in event["data"]["last_error"]
