"""The job drain: failures stay with their job, lost answers are repeated at once, leases and retries are bounded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select

from plugin import create_app
from plugin.config import ConfigurationError, load_config
from plugin.extensions import db
from plugin.insurers.base import Cancellation, TransientInsurerError
from plugin.models import Job, Shipment
from plugin.worker import Worker
from tests.api.test_worker import Clock, ScriptedInsurer, policy, ship, worker
from tests.conftest import bearer, make_environ
from tests.stripe_helpers import charge_refunded_event, deliver, protected_order


def _break_shipment_items(app, shipment_id: str) -> None:
    """Stored data the code cannot read (an item without a SKU), as a bad import or a bug would leave it."""
    with app.app_context():
        shipment = db.session.get(Shipment, shipment_id)
        shipment.items = [{"quantity": 1}]
        db.session.commit()


def test_one_shops_bad_data_never_stalls_the_others_and_drain_reports_it(app, client, new_shop):
    shops = [new_shop(name=f"Shop {n}") for n in range(3)]
    parcels = []
    for index, shop in enumerate(shops):
        protected_order(client, shop, order_id=f"o{index}")
        parcels.append(ship(client, shop, shipment_id=f"s{index}", order_id=f"o{index}"))
    _break_shipment_items(app, parcels[1]["id"])

    result = app.test_cli_runner().invoke(args=["worker", "--drain"])

    assert result.exit_code == 1
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["bound"], report["jobs_succeeded"], report["jobs_retrying"]) == (2, 2, 1)
    [failure] = report["failures"]
    assert failure["kind"] == "bind_policy" and failure["subject"] == parcels[1]["policy"]["id"]
    assert "KeyError" in failure["error"] and failure["job"] in result.stderr
    assert policy(client, shops[0], parcels[0]["policy"]["id"])["status"] == "bound"
    assert policy(client, shops[2], parcels[2]["policy"]["id"])["status"] == "bound"
    broken = policy(client, shops[1], parcels[1]["policy"]["id"])
    assert broken["status"] == "retrying" and "KeyError" in broken["last_error"]


def test_a_job_that_keeps_raising_fails_visibly_after_its_attempts(app, client, shop):
    protected_order(client, shop)
    parcel = ship(client, shop)
    _break_shipment_items(app, parcel["id"])
    clock = Clock()
    for _ in range(10):
        worker(app, clock=clock).drain()
        clock.advance(hours=13)
    failed = policy(client, shop, parcel["policy"]["id"])
    assert failed["status"] == "failed" and "KeyError" in failed["last_error"]
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert (job.status, job.attempts, job.next_attempt_at) == ("failed", 8, None)
        assert "KeyError" in job.last_error


def test_a_lost_answer_is_repeated_at_once_twice_with_the_same_key_then_backs_off(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    keys: list[str] = []

    class Recording(ScriptedInsurer):
        def bind(self, parcel, idempotency_key):
            keys.append(idempotency_key)
            return super().bind(parcel, idempotency_key)

    lost = [TransientInsurerError("timed out"), TransientInsurerError("HTTP 502", status=502)]
    insurer = Recording([*lost, TransientInsurerError("reset")])
    clock = Clock()
    app.config["JOB_RETRY_BASE_SECONDS"] = 120
    try:
        worker(app, insurer, clock, retry_base=None).drain()
    finally:
        app.config["JOB_RETRY_BASE_SECONDS"] = 600
    assert keys == [f"sp-{pending['id']}-0"] * 3
    backing_off = policy(client, shop, pending["id"])
    assert (backing_off["status"], backing_off["attempts"], backing_off["last_error"]) == ("retrying", 1, "reset")
    clock.advance(seconds=119)
    assert worker(app, insurer, clock).drain().bound == 0  # JOB_RETRY_BASE_SECONDS=120 (x1.0 jitter)
    clock.advance(seconds=2)
    assert worker(app, insurer, clock).drain().bound == 1 and insurer.purchases == 1


def test_two_lost_answers_then_success_book_once_in_one_attempt(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    insurer = ScriptedInsurer([TransientInsurerError("timed out"), TransientInsurerError("HTTP 503", status=503)])
    assert worker(app, insurer).drain().bound == 1
    bound = policy(client, shop, pending["id"])
    assert (bound["status"], bound["attempts"], insurer.calls, insurer.purchases) == ("bound", 1, 3, 1)


def test_without_idempotency_a_repeat_after_a_lost_answer_looks_up_first(app, client, shop):
    protected_order(client, shop)
    ship(client, shop)
    insurer = ScriptedInsurer(idempotent=False)
    looked_up = []
    real_bind = insurer.bind

    def bind_then_lose_the_answer(parcel, key):
        real_bind(parcel, key)  # booked on the insurer's side …
        if len(looked_up) == 0:
            raise TransientInsurerError("timed out")  # … but the answer never arrived

    def find(parcel):
        looked_up.append(parcel.reference)
        return next(iter(insurer.bookings.values()), None)

    insurer.bind, insurer.find = bind_then_lose_the_answer, find
    assert worker(app, insurer).drain().bound == 1
    assert insurer.purchases == 1 and len(looked_up) == 1


def test_worker_lease_seconds_configures_the_lease(app, client, shop, database_url, tmp_path):
    assert load_config(make_environ(database_url), str(tmp_path))["WORKER_LEASE_SECONDS"] == 300
    with pytest.raises(ConfigurationError):
        load_config(make_environ(database_url, WORKER_LEASE_SECONDS="soon"), str(tmp_path))
    configured = create_app({"ENVIRON": make_environ(database_url, WORKER_LEASE_SECONDS="42")})
    protected_order(client, shop)
    ship(client, shop)
    clock = Clock()
    leasing = Worker(configured, clock=clock)
    with configured.app_context():
        from plugin.services.jobs import lease_due

        [job] = lease_due(clock(), limit=5, lease=leasing.lease, token=leasing.token)
        assert job.leased_until - clock() == leasing.lease
        assert leasing.lease.total_seconds() == 42
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    clock.advance(seconds=41)
    assert worker(app, clock=clock).drain().bound == 0  # still leased by the other worker
    clock.advance(seconds=2)
    assert worker(app, clock=clock).drain().bound == 1  # its lease lapsed: taken over


def _bound_then_refunded(app, client, shop, insurer):
    protected_order(client, shop, unit_price=50000)
    pending = ship(client, shop)["policy"]
    worker(app, insurer).drain()
    assert deliver(client, shop.shop.id, charge_refunded_event("pi_1001", 51000, 51000)).status_code == 200
    return pending


def test_a_failing_cancellation_is_retried_a_bounded_number_of_times_then_fails_visibly(app, client, shop):
    insurer = ScriptedInsurer()
    pending = _bound_then_refunded(app, client, shop, insurer)
    calls = []

    def cancel(reference, reason):
        calls.append(reason)
        raise TransientInsurerError("HTTP 429", status=429)

    insurer.cancel = cancel
    clock = Clock()
    for _ in range(12):
        worker(app, insurer, clock).drain()
        clock.advance(hours=13)
    assert len(calls) == 6 and set(calls) == {"refunded"}
    stuck = policy(client, shop, pending["id"])
    assert (stuck["status"], stuck["cancel_status"], stuck["cancel_reason"]) == ("bound", "failed", "refunded")
    assert "HTTP 429" in stuck["last_error"]


def test_a_refused_cancellation_is_recorded_and_not_retried(app, client, shop):
    insurer = ScriptedInsurer()
    pending = _bound_then_refunded(app, client, shop, insurer)
    insurer.cancel = lambda reference, reason: Cancellation(cancelled=False, message="past the cut-off")
    clock = Clock()
    stats = worker(app, insurer, clock).drain()
    assert stats.jobs_failed == 1
    refused = policy(client, shop, pending["id"])
    assert (refused["status"], refused["cancel_status"]) == ("bound", "refused")
    assert "past the cut-off" in refused["last_error"]
    clock.advance(days=2)
    assert worker(app, insurer, clock).drain().jobs_failed == 0  # nothing due again


def test_a_shipment_commits_its_purchase_job_once(app, client, shop):
    protected_order(client, shop)
    first = ship(client, shop)
    again = ship(client, shop)
    assert first["policy"]["id"] == again["policy"]["id"]
    with app.app_context():
        [job] = db.session.scalars(select(Job)).all()
        assert (job.kind, job.subject, job.status) == ("bind_policy", first["policy"]["id"], "queued")
        assert job.idempotency_key == f"sp-{first['policy']['id']}-0"


def test_a_job_of_an_unknown_kind_fails_visibly_and_the_others_run(app, client, shop):
    protected_order(client, shop)
    ship(client, shop)
    with app.app_context():
        from plugin.models import utcnow
        from plugin.services.jobs import enqueue

        enqueue(shop_id=shop.shop.id, kind="mystery", subject="x", idempotency_key="mystery-1", now=utcnow())
        db.session.commit()
    stats = worker(app).drain()
    assert stats.bound == 1 and stats.jobs_failed == 1
    assert stats.failures[0]["error"] == "no handler for job kind 'mystery'"


def _count_queries(app):
    counter = {"n": 0}

    def before(*_args, **_kwargs):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def _page_queries(app, client, shop, count: int, offset: int) -> int:
    for index in range(offset, offset + count):
        protected_order(client, shop, order_id=f"q{index}")
        ship(
            client,
            shop,
            shipment_id=f"qa{index}",
            order_id=f"q{index}",
            items=[{"sku": "A", "quantity": 1, "unit_price": 100}],
        )
        ship(client, shop, shipment_id=f"qb{index}", order_id=f"q{index}")
    counter, stop = _count_queries(app)
    try:
        response = client.get(f"/api/v1/protections?limit={count}", headers=bearer(shop.keys.secret_key))
    finally:
        stop()
    body = response.get_json()
    assert response.status_code == 200 and len(body["data"]) == count
    assert all(len(p["shipments"]) == 2 and len(p["policies"]) == 2 for p in body["data"])
    assert all(p["shipments"][0]["policy"]["shipment_id"].startswith("qa") for p in body["data"])
    return counter["n"]


def test_a_page_of_protections_costs_a_constant_number_of_queries(app, client, new_shop):
    small = _page_queries(app, client, new_shop(name="Small"), 5, 0)
    large = _page_queries(app, client, new_shop(name="Large"), 25, 100)
    assert small == large <= 8


def _order_shipments_queries(app, client, shop, count: int) -> int:
    protected_order(client, shop, order_id="big")
    for index in range(count):
        ship(
            client, shop, shipment_id=f"p{index}", order_id="big", items=[{"sku": "A", "quantity": 1, "unit_price": 1}]
        )
    counter, stop = _count_queries(app)
    try:
        response = client.get("/api/v1/shipments?order_id=big", headers=bearer(shop.keys.secret_key))
    finally:
        stop()
    body = response.get_json()
    assert response.status_code == 200 and len(body["data"]) == count
    assert all(s["policy"]["shipment_id"] == s["shipment_id"] for s in body["data"])
    return counter["n"]


def test_an_orders_shipments_cost_a_constant_number_of_queries(app, client, new_shop):
    assert _order_shipments_queries(app, client, new_shop(name="Two"), 2) == _order_shipments_queries(
        app, client, new_shop(name="Twelve"), 12
    )


def _order_policies_queries(app, client, shop, count: int) -> int:
    protected_order(client, shop, order_id="many")
    for index in range(count):
        ship(
            client, shop, shipment_id=f"m{index}", order_id="many", items=[{"sku": "A", "quantity": 1, "unit_price": 1}]
        )
    counter, stop = _count_queries(app)
    try:
        response = client.get("/api/v1/policies?order_id=many", headers=bearer(shop.keys.secret_key))
    finally:
        stop()
    body = response.get_json()
    assert response.status_code == 200 and len(body["data"]) == count
    assert {p["shipment_id"] for p in body["data"]} == {f"m{index}" for index in range(count)}
    return counter["n"]


def test_an_orders_policies_cost_a_constant_number_of_queries(app, client, new_shop):
    assert _order_policies_queries(app, client, new_shop(name="Two"), 2) == _order_policies_queries(
        app, client, new_shop(name="Twelve"), 12
    )
