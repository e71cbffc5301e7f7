"""Upgrading a database that holds live work: open policies become jobs the worker drains (0006_jobs)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from plugin import create_app
from plugin.extensions import db
from plugin.worker import Worker
from tests.conftest import make_environ


@pytest.fixture()
def scratch_url(tmp_path):
    """An empty database of the suite's kind, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    name = f"plugin_upgrade_{uuid.uuid4().hex[:12]}"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(now: datetime) -> None:
    """A shop with three parcels as 0005 left them: one due, one backing off, one bound awaiting cancellation."""
    stamp = now if db.engine.dialect.name == "postgresql" else now.replace(tzinfo=None)
    db.session.execute(
        text("INSERT INTO shops (id, name, currency, settings, created_at, updated_at)"
             " VALUES ('shop_up', 'Jade House', 'USD', '{}', :t, :t)"),
        {"t": stamp},
    )  # fmt: skip
    for index, (status, extra) in enumerate(
        [("pending", {}), ("retrying", {"attempts": 2, "last_error": "HTTP 503"}),
         ("bound", {"certificate": "SBX-1", "cancel_requested_at": stamp, "cancel_reason": "CANREQ"})]
    ):  # fmt: skip
        db.session.execute(
            text("INSERT INTO shipments (id, shop_id, shipment_ref, order_id, carrier, tracking_number,"
                 " tracking_status, items, currency, shipped_at, last_tracking_at, created_at, updated_at)"
                 " VALUES (:id, 'shop_up', :ref, :order, 'UPS', '1Z', 'shipped', '[]', 'USD', :t, :t, :t, :t)"),
            {"id": f"shp_up{index}", "ref": f"s{index}", "order": f"o{index}", "t": stamp},
        )  # fmt: skip
        db.session.execute(
            text("INSERT INTO policies (id, shop_id, shipment_id, order_id, provider, status, currency,"
                 " sum_insured_amount, attempts, key_generation, last_error, certificate, provider_reference,"
                 " next_attempt_at, cancel_requested_at, cancel_reason, created_at, updated_at)"
                 " VALUES (:id, 'shop_up', :shipment, :order, 'sandbox', :status, 'USD', 10000, :attempts, 0,"
                 " :last_error, :certificate, :certificate, :t, :cancel_at, :reason, :t, :t)"),
            {"id": f"pol_up{index}", "shipment": f"shp_up{index}", "order": f"o{index}", "status": status,
             "attempts": extra.get("attempts", 0), "last_error": extra.get("last_error"),
             "certificate": extra.get("certificate"), "cancel_at": extra.get("cancel_requested_at"),
             "reason": extra.get("cancel_reason"), "t": stamp},
        )  # fmt: skip
    db.session.commit()


def test_open_policies_become_jobs_that_the_worker_drains(scratch_url):
    app = create_app({"ENVIRON": make_environ(scratch_url), "RESOLVE_INSURER_HOSTS": False})
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"], revision="0005_destinations")
        _seed(datetime.now(UTC))
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        jobs = db.session.execute(
            text("SELECT kind, subject, idempotency_key, status, attempts FROM jobs ORDER BY subject")
        ).all()
        assert [tuple(job) for job in jobs] == [
            ("bind_policy", "pol_up0", "sp-pol_up0-0", "queued", 0),
            ("bind_policy", "pol_up1", "sp-pol_up1-0", "retrying", 2),
            ("cancel_policy", "pol_up2", "cancel-pol_up2", "queued", 0),
        ]
        reason, cancel_status = db.session.execute(
            text("SELECT cancel_reason, cancel_status FROM policies WHERE id = 'pol_up2'")
        ).one()
        assert (reason, cancel_status) == ("requested", "requested")  # Loadsure's word left the core
        db.session.remove()

    stats = Worker(app).drain()
    with app.app_context():
        statuses = dict(db.session.execute(text("SELECT id, status FROM policies")).all())
        assert statuses == {"pol_up0": "bound", "pol_up1": "bound", "pol_up2": "cancelled"}, stats.report()
        db.session.remove()
        db.engine.dispose()
