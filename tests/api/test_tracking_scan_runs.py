"""The tracking scan over the database: `flask claims scan`, its notices, and one worker per interval."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Job, Shipment, WebhookEvent, utcnow
from plugin.services.tracking_scan import claim_periodic_run, scan_tracking
from tests.api.test_worker import Clock, worker
from tests.claim_helpers import days_ago, settings, shipped_order, track
from tests.conftest import bearer
from tests.loopback_http import loopback_server


def _scan(app) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["claims", "scan"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def _jobs(app, kind: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Job).where(Job.kind == kind).order_by(Job.created_at))
        return [(row.subject, str(row.payload.get("notice", row.payload.get("endpoint")))) for row in rows]


def _merchant_email(client, shop) -> None:
    answer = client.patch(
        "/api/v1/settings",
        json={"notifications": {"merchant_email": "owner@shop.example"}},
        headers=bearer(shop.keys.secret_key),
    )
    assert answer.status_code == 200


def test_a_stalled_parcel_alerts_the_merchant_then_invites_the_shopper_once(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_WEBHOOK_HOSTS", True)
    _merchant_email(client, shop)
    shipped_order(client, shop, "1001", shipped_days_ago=10)  # no tracking since: stalled
    shipped_order(client, shop, "1002", shipped_days_ago=10)
    track(app, "ful_1002_1", "in_transit", days_ago(1))  # moving
    shipped_order(client, shop, "1003", shipped_days_ago=12)
    track(app, "ful_1003_1", "delivered", days_ago(2))  # delivered
    shipped_order(client, shop, "1004", shipped_days_ago=3)  # too young
    with loopback_server() as server:
        hook = client.patch(
            "/api/v1/settings",
            json={"webhooks": {"endpoints": [{"url": server.url, "events": ["tracking.stalled"]}]}},
            headers=bearer(shop.keys.secret_key),
        )
        assert hook.status_code == 200
        summary = _scan(app)
        assert summary["stalled"] == 1 and summary["merchant_alerts"] == 1 and summary["shopper_invites"] == 0
        assert summary["parcels_checked"] == 2  # the young and the delivered parcels are not even read
        assert worker(app).drain().ok
        (delivered,) = [json.loads(request.body) for request in server.received]
    assert delivered["type"] == "tracking.stalled" and delivered["data"]["shipment_id"] == "ful_1001_1"
    with app.app_context():
        stalled = db.session.scalars(select(Shipment).where(Shipment.shipment_ref == "ful_1001_1")).one()
        assert stalled.stalled_at is not None and stalled.merchant_alerted_at is not None
        assert stalled.shopper_invited_at is None
        stalled_id = stalled.id
    assert _jobs(app, "send_email") == [(stalled_id, "merchant_tracking_stalled")]

    again = _scan(app)  # nothing new: each step once
    assert (again["stalled"], again["merchant_alerts"], again["shopper_invites"]) == (0, 0, 0)
    with app.app_context():
        later = scan_tracking(utcnow() + timedelta(days=2, minutes=1))  # the grace period has passed
        assert later.shopper_invites == 1
        assert scan_tracking(utcnow() + timedelta(days=3)).shopper_invites == 0
        assert len(list(db.session.scalars(select(WebhookEvent)))) == 1
    assert _jobs(app, "send_email")[-1] == (stalled_id, "parcel_stalled")


def test_the_invitation_email_links_to_the_claim_portal(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://shop.example")
    settings(client, shop, merchant_grace_days=0)
    shipped_order(client, shop, shipped_days_ago=9)
    assert _scan(app)["shopper_invites"] == 1
    from plugin.services.notifications import compose_email

    with app.app_context():
        job = db.session.scalars(select(Job).where(Job.kind == "send_email")).one()
        composed = compose_email(job.payload, job.shop_id, job.idempotency_key, app.config)
        assert composed is not None
        message = composed.message
        assert message["To"] == "jade@example.com"
        assert message["Subject"] == "Your parcel from Jade House seems to be stuck"
        assert f"https://shop.example/claims/{shop.shop.id}" in message.get_content()


def test_late_parcels_hear_of_the_delay_compensation_only_when_it_is_offered(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=11)
    track(app, "ful_1001_1", "in_transit", days_ago(0.5))
    assert _scan(app)["delay_notices"] == 0
    settings(client, shop, delay_compensation=500)
    assert _scan(app)["delay_notices"] == 1
    assert _scan(app)["delay_notices"] == 0
    assert [notice for _, notice in _jobs(app, "send_email")] == ["parcel_delayed"]


def test_unprotected_parcels_are_scanned_only_under_all_orders(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=10)
    with app.app_context():
        shipment = db.session.scalars(select(Shipment)).one()
        shipment.protection_id = None
        db.session.commit()
    assert _scan(app)["parcels_checked"] == 0
    answer = client.patch(
        "/api/v1/settings", json={"insurer": {"scope": "all_orders"}}, headers=bearer(shop.keys.secret_key)
    )
    assert answer.status_code == 200
    assert _scan(app)["stalled"] == 1


def test_a_parcel_with_a_claim_is_not_invited(app, client, shop):
    settings(client, shop, merchant_grace_days=0)
    shipped_order(client, shop, shipped_days_ago=10)
    filed = client.post(
        "/api/v1/claims",
        json={"order_id": "1001", "email": "jade@example.com", "type": "lost", "description": "Gone."},
        headers=bearer(shop.keys.secret_key),
    )
    assert filed.status_code == 201
    summary = _scan(app)
    assert (summary["stalled"], summary["shopper_invites"]) == (1, 0)


def test_one_worker_per_interval_runs_the_scan(app, client, shop):
    clock = Clock()
    first, second = worker(app, clock=clock), worker(app, clock=clock)
    assert first.run_periodic() is True
    assert second.run_periodic() is False
    clock.advance(seconds=app.config["CLAIMS_SCAN_INTERVAL_SECONDS"] + 61)
    assert second.run_periodic() is True
    assert first.run_periodic() is False
    with app.app_context():
        now = clock()
        interval = timedelta(hours=1)
        assert claim_periodic_run("other", now, interval) is True
        assert claim_periodic_run("other", now + timedelta(minutes=59), interval) is False
        assert claim_periodic_run("other", now + timedelta(minutes=60), interval) is True


def test_scan_refuses_an_unknown_shop(app):
    result = app.test_cli_runner().invoke(args=["claims", "scan", "--shop", "shop_nope"])
    assert result.exit_code != 0 and "no shop" in result.output
