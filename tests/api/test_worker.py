"""The policy drain: exactly one purchase per parcel through failures, crashes, refusals and races."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import responses
from sqlalchemy import func, select

from plugin.extensions import db
from plugin.insurers.base import Binding, Cancellation, Insurer, InsurerRefusedError, TransientInsurerError
from plugin.insurers.registry import insurer_for
from plugin.jobs import policies as policy_jobs
from plugin.models import Policy, SandboxBooking, utcnow
from plugin.worker import Worker
from tests.conftest import bearer, make_environ
from tests.stripe_helpers import charge_refunded_event, deliver, protected_order

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class ScriptedInsurer(Insurer):
    """A fake insurer: raises the scripted errors first, then books (once per key, like a real one)."""

    name = "scripted"

    def __init__(self, failures=(), idempotent: bool = True) -> None:
        self.failures = list(failures)
        self.bookings: dict[str, Binding] = {}
        self.purchases = 0
        self.calls = 0
        self.idempotent_bind = idempotent
        self.cancelled: list[str] = []

    def bind(self, parcel, idempotency_key):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        key = idempotency_key if self.idempotent_bind else f"{idempotency_key}#{self.calls}"
        if key not in self.bookings:
            self.purchases += 1
            self.bookings[key] = Binding(
                f"CERT-{self.purchases}", f"REF-{self.purchases}", parcel.sum_insured, 99, parcel.currency
            )
        return self.bookings[key]

    def find(self, parcel):
        return next(iter(self.bookings.values()), None) if not self.idempotent_bind else None

    def cancel(self, binding_reference, reason):
        self.cancelled.append(binding_reference)
        return Cancellation(cancelled=True)


def worker(app, insurer: Insurer | None = None, clock: Clock | None = None, **kwargs) -> Worker:
    factory = (lambda *args, **kw: insurer) if insurer is not None else insurer_for
    return Worker(app, insurer_factory=factory, clock=clock or Clock(), jitter=lambda: 0.5, **kwargs)


def ship(client, shop, shipment_id="ful_1", order_id="1001", **body):
    payload = {"order_id": order_id, "shipment_id": shipment_id, "carrier": "UPS", "tracking_number": "1Z", **body}
    response = client.post("/api/v1/shipments", json=payload, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def policy(client, shop, policy_id):
    return client.get(f"/api/v1/policies/{policy_id}", headers=bearer(shop.keys.secret_key)).get_json()


def sandbox_bookings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SandboxBooking))


def test_drain_binds_through_the_sandbox(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    stats = worker(app).drain()
    assert stats.bound == 1
    bound = policy(client, shop, pending["id"])
    assert bound["status"] == "bound" and bound["certificate"].startswith("SBX-")
    assert (bound["sum_insured"], bound["cost"], bound["attempts"]) == (50000, 250, 1)
    assert sandbox_bookings(app) == 1
    assert worker(app).drain().bound == 0  # nothing is due any more


def test_transient_failures_then_success_book_exactly_once(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    insurer = ScriptedInsurer(
        [TransientInsurerError("HTTP 429", status=429), TransientInsurerError("HTTP 423", status=423)]
    )
    clock = Clock()
    worker(app, insurer, clock).drain()
    first = policy(client, shop, pending["id"])
    assert (first["status"], first["attempts"], first["last_error"]) == ("retrying", 1, "HTTP 429")
    assert worker(app, insurer, clock).drain().bound == 0  # not due before its backoff
    clock.advance(minutes=11)
    worker(app, insurer, clock).drain()
    clock.advance(minutes=21)
    worker(app, insurer, clock).drain()
    done = policy(client, shop, pending["id"])
    assert (done["status"], done["attempts"], done["certificate"]) == ("bound", 3, "CERT-1")
    assert insurer.purchases == 1


class Killed(BaseException):
    """The process dies here (SIGKILL): nothing after this line of the worker runs."""


def crash_after_the_insurer_answered(monkeypatch):
    def crash(*_args, **_kwargs):
        raise Killed("killed after the insurer answered")

    monkeypatch.setattr(policy_jobs, "_record_bound", crash)


def test_a_crash_between_the_insurers_success_and_our_commit_books_once(app, client, shop, monkeypatch):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    clock = Clock()
    crashing = worker(app, clock=clock)
    crash_after_the_insurer_answered(monkeypatch)
    with pytest.raises(Killed):
        crashing.drain()
    monkeypatch.undo()
    assert sandbox_bookings(app) == 1
    assert policy(client, shop, pending["id"])["status"] == "pending"
    clock.advance(minutes=6)  # the dead worker's lease lapses
    assert worker(app, clock=clock).drain().bound == 1
    assert sandbox_bookings(app) == 1  # same idempotency key: the sandbox answered with the first booking
    assert policy(client, shop, pending["id"])["certificate"].startswith("SBX-")


def test_without_idempotency_an_unclear_outcome_is_looked_up_before_buying_again(app, client, shop, monkeypatch):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    insurer = ScriptedInsurer(idempotent=False)
    clock = Clock()
    crashing = worker(app, insurer, clock)
    crash_after_the_insurer_answered(monkeypatch)
    with pytest.raises(Killed):
        crashing.drain()
    monkeypatch.undo()
    clock.advance(minutes=6)
    worker(app, insurer, clock).drain()
    assert insurer.purchases == 1 and insurer.calls == 1  # found by our reference, not bought again
    assert policy(client, shop, pending["id"])["status"] == "bound"


def test_a_refusal_fails_with_the_insurers_message_and_can_be_retried(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    insurer = ScriptedInsurer([InsurerRefusedError("quote: HTTP 422: Commodity excluded: jewelry")])
    worker(app, insurer).drain()
    failed = policy(client, shop, pending["id"])
    assert failed["status"] == "failed" and "Commodity excluded" in failed["last_error"]
    retried = client.post(f"/api/v1/policies/{pending['id']}/retry", headers=bearer(shop.keys.secret_key))
    assert retried.status_code == 200 and retried.get_json()["status"] == "retrying"
    worker(app, insurer).drain()
    assert policy(client, shop, pending["id"])["status"] == "bound"


def test_only_failed_or_retrying_policies_can_be_retried(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    response = client.post(f"/api/v1/policies/{pending['id']}/retry", headers=bearer(shop.keys.secret_key))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"


def test_attempts_run_out_after_eight(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    insurer = ScriptedInsurer([TransientInsurerError(f"HTTP 429 #{n}", status=429) for n in range(20)])
    clock = Clock()
    for _ in range(12):
        worker(app, insurer, clock).drain()
        clock.advance(hours=13)
    failed = policy(client, shop, pending["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", 8)
    assert insurer.calls == 8


def test_the_cli_retries_a_failed_policy(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    worker(app, ScriptedInsurer([InsurerRefusedError("no")])).drain()
    result = app.test_cli_runner().invoke(args=["policies", "retry", pending["id"]])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "retrying"


def test_a_full_refund_after_shipping_cancels_the_bound_policy(app, client, shop):
    protection = protected_order(client, shop, unit_price=50000)
    pending = ship(client, shop)["policy"]
    worker(app).drain()
    refund = charge_refunded_event("pi_1001", 51000, 51000)
    assert deliver(client, shop.shop.id, refund).status_code == 200
    assert policy(client, shop, pending["id"])["cancel_requested_at"] is not None
    assert worker(app).drain().cancelled == 1
    assert policy(client, shop, pending["id"])["status"] == "cancelled"
    with app.app_context():
        assert db.session.scalar(select(SandboxBooking.status)) == "cancelled"
    again = client.get(f"/api/v1/protections/{protection['id']}", headers=bearer(shop.keys.secret_key)).get_json()
    assert again["status"] == "voided"


def test_a_policy_cancelled_before_it_was_bought_is_never_bought(app, client, shop):
    protected_order(client, shop, unit_price=50000)
    pending = ship(client, shop)["policy"]
    deliver(client, shop.shop.id, charge_refunded_event("pi_1001", 51000, 51000))
    assert policy(client, shop, pending["id"])["status"] == "cancelled"
    insurer = ScriptedInsurer()
    worker(app, insurer).drain()
    assert insurer.calls == 0


def test_a_misconfigured_insurer_fails_the_policy_with_a_clear_reason(app, client, shop):
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    with app.app_context():
        db.session.get(Policy, pending["id"]).provider = "loadsure"  # chosen, but never configured
        db.session.commit()
    worker(app).drain()
    failed = policy(client, shop, pending["id"])
    assert failed["status"] == "failed" and "api_key is not set" in failed["last_error"]


def test_xcover_through_the_worker_with_a_replayed_booking(app, client, shop, monkeypatch):
    app.config["RESOLVE_INSURER_HOSTS"] = False
    settings = {"insurer": {"provider": "xcover", "config": {
        "base_url": "https://xcover.test/xcover", "partner_code": "P1", "api_key": "xc_key_1234", "api_secret": "xc_sec_5678"}}}  # fmt: skip
    assert client.patch("/api/v1/settings", json=settings, headers=bearer(shop.keys.secret_key)).status_code == 200
    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    assert pending["provider"] == "xcover"
    base = "https://xcover.test/xcover/partners/P1"
    package = {"id": "PKG-1", "status": "RECEIVED", "total_price": "2.50", "quotes": [{"id": "q1", "price": "2.50"}]}
    clock = Clock()
    with responses.RequestsMock() as http:
        http.post(f"{base}/quotes/", json=package, status=201)
        http.post(f"{base}/bookings/PKG-1/", json={**package, "status": "CONFIRMED"})
        crashing = worker(app, clock=clock)
        crash_after_the_insurer_answered(monkeypatch)
        with pytest.raises(Killed):
            crashing.drain()
        monkeypatch.undo()
        first_keys = [call.request.headers["x-idempotency-key"] for call in http.calls]
        http.replace(responses.POST, f"{base}/quotes/", json=package, status=409)
        http.replace(responses.POST, f"{base}/bookings/PKG-1/", json={**package, "status": "CONFIRMED"}, status=409)
        clock.advance(minutes=6)
        worker(app, clock=clock).drain()
        second_keys = [call.request.headers["x-idempotency-key"] for call in http.calls[2:]]
    assert first_keys == second_keys  # the same keys: XCover replays instead of selling twice
    bound = policy(client, shop, pending["id"])
    assert (bound["status"], bound["certificate"], bound["cost"]) == ("bound", "PKG-1", 250)


def test_two_worker_processes_never_book_the_same_policy(app, client, shop, database_url):
    client.patch(
        "/api/v1/settings",
        json={"insurer": {"config": {"latency_ms": 20}}, "pricing": {"max_declared_value": None}},
        headers=bearer(shop.keys.secret_key),
    )
    count = 30
    for index in range(count):
        protected_order(client, shop, order_id=f"o{index}", unit_price=1000 + index)
        ship(client, shop, shipment_id=f"s{index}", order_id=f"o{index}")
    env = {**os.environ, **make_environ(database_url), "LOG_LEVEL": "WARNING"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "plugin", "worker", "--drain"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in workers]
    assert [process.returncode for process in workers] == [0, 0], outputs
    stats = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(s["bound"] for s in stats) == count
    assert sandbox_bookings(app) == count
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Policy.status == "bound")) == count
        assert db.session.scalar(select(func.max(Policy.attempts))) == 1


def test_a_long_running_worker_survives_a_failing_batch(app, client, shop, monkeypatch):
    import threading

    protected_order(client, shop)
    pending = ship(client, shop)["policy"]
    clock = Clock()
    survivor = worker(app, clock=clock)
    calls = {"n": 0}
    real = survivor.run_once

    def flaky():
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        if calls["n"] >= 3:
            stop.set()
        return real()

    monkeypatch.setattr(survivor, "run_once", flaky)
    stop = threading.Event()
    survivor.run_forever(stop, poll_seconds=0.01)
    assert calls["n"] >= 3
    assert policy(client, shop, pending["id"])["status"] == "bound"


def test_a_database_outage_during_a_job_is_a_warning_and_a_bug_a_traceback(app, client, shop, caplog):
    from sqlalchemy.exc import OperationalError

    protected_order(client, shop)
    ship(client, shop)
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    insurer = ScriptedInsurer(failures=[lost, RuntimeError("a bug")])
    clock = Clock()
    with caplog.at_level("WARNING", logger="plugin.worker"):
        for _ in range(3):  # the outage, the bug, then the purchase: the job is kept and tried again each time
            worker(app, insurer, clock).drain()
            clock.advance(hours=1)
    records = [(record.levelname, record.getMessage(), record.exc_info is not None) for record in caplog.records]
    assert ("WARNING", "job interrupted: database unavailable", False) in records
    assert ("ERROR", "job raised", True) in records  # a bug keeps its traceback
    assert [level for level, _, _ in records].count("ERROR") == 1
    assert insurer.purchases == 1
