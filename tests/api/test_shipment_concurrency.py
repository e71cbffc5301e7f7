"""Parcels of one order arriving at once never insure more than its declared value (and none of them fails).

Each request plans its parcel under the order's serialisation point: the protection's row lock on PostgreSQL
(SELECT … FOR UPDATE), the database's write lock on SQLite. The PostgreSQL tests run real gunicorn worker
processes, so the requests race in separate processes and connections, as in production.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Policy, Shipment
from tests.api.test_platform_webhooks import send, sign
from tests.conftest import bearer, make_environ
from tests.stripe_helpers import configure_stripe, payment_intent_event, protected_order
from tests.stripe_helpers import deliver as deliver_stripe

ROOT = Path(__file__).resolve().parents[2]
PARCELS = 8
DECLARED = 50_000
GUNICORN_WORKERS = 4


def _race(calls: list[Callable[[], int]]) -> list[int]:
    """Run the calls at the same moment, one thread each; their status codes."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(call: Callable[[], int]) -> None:
        barrier.wait(timeout=30)
        status = call()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def _insured(app, order_id: str = "1001") -> tuple[int, int, int]:
    """(shipments, policies, total sum insured) of the order."""
    with app.app_context():
        shipments = db.session.scalar(select(func.count()).select_from(Shipment).where(Shipment.order_id == order_id))
        policies = db.session.scalar(select(func.count()).select_from(Policy).where(Policy.order_id == order_id))
        total = db.session.scalar(
            select(func.coalesce(func.sum(Policy.sum_insured_amount), 0)).where(Policy.order_id == order_id)
        )
        return shipments, policies, int(total)


def _shipment_body(index: int) -> dict:
    # No items: each parcel would take "the rest of the declared value", the worst case for over-insurance.
    return {"order_id": "1001", "shipment_id": f"ful_{index}", "carrier": "UPS", "tracking_number": f"1Z{index}"}


def _fulfillment_body(index: int) -> dict:
    return {"id": 9000 + index, "order_id": 1001, "tracking_company": "UPS", "tracking_number": f"1Z{index}"}


# In-process, through threads: the suite's own database (SQLite by default, PostgreSQL with TEST_DATABASE_URL).


def test_simultaneous_shipments_of_one_order_never_over_insure(app, client, shop):
    protected_order(client, shop, unit_price=DECLARED)

    def post(index: int) -> Callable[[], int]:
        return lambda: (
            app.test_client()
            .post("/api/v1/shipments", json=_shipment_body(index), headers=bearer(shop.keys.secret_key))
            .status_code
        )

    statuses = _race([post(index) for index in range(PARCELS)])
    assert statuses == [202] * PARCELS
    assert _insured(app) == (PARCELS, 1, DECLARED)  # the first parcel takes all; the others find it used up


def test_simultaneous_fulfillment_webhooks_of_one_order_never_over_insure(app, client, shop):
    protected_order(client, shop, unit_price=DECLARED)

    def deliver(index: int) -> Callable[[], int]:
        return lambda: send(app.test_client(), shop, "fulfillments/create", _fulfillment_body(index)).status_code

    statuses = _race([deliver(index) for index in range(PARCELS)])
    assert statuses == [200] * PARCELS
    assert _insured(app) == (PARCELS, 1, DECLARED)


def test_simultaneous_parcels_of_an_unprotected_order_in_all_orders_scope_stop_at_its_payment(app, client, shop):
    """All-orders scope, no protection: the order's payment is the value and the serialisation point."""
    client.patch("/api/v1/settings", json={"insurer": {"scope": "all_orders"}}, headers=bearer(shop.keys.secret_key))
    configure_stripe(client, shop)
    paid = payment_intent_event({"order_id": "1001"}, pi_id="pi_plain", amount=DECLARED)
    assert deliver_stripe(client, shop.shop.id, paid).status_code == 200

    def post(index: int) -> Callable[[], int]:
        body = {**_shipment_body(index), "items": [{"sku": f"S{index}", "quantity": 1, "unit_price": 20_000}]}
        return lambda: (
            app.test_client().post("/api/v1/shipments", json=body, headers=bearer(shop.keys.secret_key)).status_code
        )

    statuses = _race([post(index) for index in range(PARCELS)])
    assert statuses == [202] * PARCELS
    assert _insured(app) == (PARCELS, 3, DECLARED)  # 20,000 + 20,000 + the 10,000 left


# Real gunicorn worker processes on PostgreSQL.


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by several sync gunicorn workers on a loopback port (one server per module); its URL."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    env = {**os.environ, **make_environ(database_url), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "--workers", str(GUNICORN_WORKERS), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", "plugin:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # connections queue on the bound socket until a worker has loaded the app
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _on_postgres(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")


def _race_behind_a_gate(database_url: str, calls: list[Callable[[], int]]) -> list[int]:
    """Race the calls while another session holds back every INSERT into policies (reads still pass), until
    every gunicorn worker is mid-request and waiting on a lock: the widest possible window between a request's
    look at what is insured and its write, as a slow disk or a busy database would open it."""
    statuses: list[int] = []
    with psycopg.connect(database_url) as gate, psycopg.connect(database_url, autocommit=True) as watch:
        gate.execute("LOCK TABLE policies IN SHARE MODE")  # blocks INSERT, not SELECT
        racing = threading.Thread(target=lambda: statuses.extend(_race(calls)))
        racing.start()
        deadline = time.monotonic() + 30
        waiting = 0
        while waiting < GUNICORN_WORKERS and time.monotonic() < deadline:
            time.sleep(0.05)
            # Autocommit, so each look is a fresh view (statistics are snapshotted per transaction).
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND state = 'active'"
            ).fetchone()[0]
        gate.commit()
        assert waiting == GUNICORN_WORKERS, f"only {waiting} requests reached the database"
    racing.join(timeout=120)
    return statuses


@pytest.mark.postgres_only
def test_shipments_racing_across_gunicorn_workers_never_over_insure(app, client, shop, database_url, request):
    _on_postgres(database_url)
    base = request.getfixturevalue("gunicorn")
    protected_order(client, shop, unit_price=DECLARED)
    session_headers = {**bearer(shop.keys.secret_key), "Content-Type": "application/json"}

    def post(index: int) -> Callable[[], int]:
        return lambda: (
            requests.post(
                f"{base}/api/v1/shipments", data=json.dumps(_shipment_body(index)), headers=session_headers, timeout=60
            ).status_code
        )

    statuses = _race_behind_a_gate(database_url, [post(index) for index in range(PARCELS)])
    assert statuses == [202] * PARCELS
    shipments, policies, total = _insured(app)
    assert shipments == PARCELS and total <= DECLARED
    assert (policies, total) == (1, DECLARED)


@pytest.mark.postgres_only
def test_fulfillments_racing_across_gunicorn_workers_never_over_insure(app, client, shop, database_url, request):
    _on_postgres(database_url)
    base = request.getfixturevalue("gunicorn")
    protected_order(client, shop, unit_price=DECLARED)

    def deliver(index: int) -> Callable[[], int]:
        raw = json.dumps(_fulfillment_body(index)).encode()
        headers = {"X-Shopify-Topic": "fulfillments/create", "X-Shopify-Webhook-Id": f"wh-{index}",
                   "X-Shopify-Hmac-Sha256": sign(raw, shop.platform_webhook_secret)}  # fmt: skip
        return lambda: (
            requests.post(f"{base}/webhooks/platform/{shop.shop.id}", data=raw, headers=headers, timeout=60).status_code
        )

    statuses = _race_behind_a_gate(database_url, [deliver(index) for index in range(PARCELS)])
    assert statuses == [200] * PARCELS
    shipments, policies, total = _insured(app)
    assert shipments == PARCELS and total <= DECLARED
    assert (policies, total) == (1, DECLARED)
