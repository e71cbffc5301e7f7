"""bench/admin_scale.py's fill at a small scale: the rows it COPYs are rows the app could have written."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import ForeignKeyConstraint, func, select, text

from bench.admin_scale import COLUMNS, create_shops, fill_rows
from plugin.domain.claims import ClaimStatus, ClaimType
from plugin.domain.jobs import JobStatus
from plugin.domain.policies import TRACKING_STATUSES, PolicyStatus
from plugin.domain.protections import ProtectionStatus
from plugin.extensions import db
from plugin.models import (
    AuditEntry,
    Claim,
    Consent,
    Job,
    Payment,
    Policy,
    Protection,
    Shipment,
    StripeRefund,
    TrackingEvent,
    WebhookDelivery,
)
from tests.api.test_report_rollup import expected, stored

MODELS = (Payment, StripeRefund, Consent, Protection, Shipment, TrackingEvent, Policy, Claim, Job, WebhookDelivery,
          AuditEntry)  # fmt: skip
PREFIXES = {Protection: "prot_", Shipment: "shp_", Policy: "pol_", Claim: "clm_", Consent: "cns_", Job: "job_"}


def test_every_required_column_is_written():
    # A NOT NULL column added to a model without a server default would make the COPY fail at 1 million rows.
    for model in MODELS:
        table = model.__table__
        required = {c.name for c in table.columns if not c.nullable and c.server_default is None}
        assert required <= set(COLUMNS[table.name]), table.name
        assert set(COLUMNS[table.name]) <= {c.name for c in table.columns}, table.name


def test_fill_writes_a_year_the_models_accept(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the fill writes with COPY")
    plans = create_shops(app, 2000)
    now = float(int(time.time()) // 3600 * 3600)
    counters = fill_rows(database_url, plans, seed=7, now=now, progress=lambda _: None)
    large = plans[0].id
    with app.app_context():
        # The foreign keys were dropped for the COPY and added back (checked then): each one holds.
        for table in db.metadata.sorted_tables:
            for constraint in table.constraints:
                if not isinstance(constraint, ForeignKeyConstraint):
                    continue
                child = constraint.columns[0].name
                parent = constraint.elements[0].column
                orphans = db.session.scalar(
                    text(
                        f"SELECT count(*) FROM {table.name} c WHERE c.{child} IS NOT NULL AND NOT EXISTS "  # noqa: S608
                        f"(SELECT 1 FROM {parent.table.name} p WHERE p.{parent.name} = c.{child})"
                    )
                )
                assert orphans == 0, f"{table.name}.{child} -> {parent.table.name}"
        # Every row loads through the models (aware UTC times, JSON documents) and has the real id prefix.
        for model in MODELS:
            rows = db.session.scalars(select(model)).all()
            assert len(rows) == counters.totals[model.__tablename__], model.__name__
            for row in rows:
                stamp = getattr(row, "created_at", None) or getattr(row, "received_at", None)
                assert stamp is None or stamp.utcoffset() is not None
                if model in PREFIXES:
                    assert row.id.startswith(PREFIXES[model]) and len(row.id) == len(PREFIXES[model]) + 24
            db.session.expunge_all()

        def statuses(column):
            return dict(db.session.execute(select(column, func.count()).group_by(column)).all())

        assert set(statuses(Protection.status)) <= set(ProtectionStatus)
        assert set(statuses(Policy.status)) <= set(PolicyStatus)
        assert {"paid", "denied"} <= set(statuses(Claim.status)) <= set(ClaimStatus)
        assert set(statuses(Claim.type)) <= set(ClaimType)
        assert set(statuses(Job.status)) <= set(JobStatus)
        assert set(statuses(Shipment.tracking_status)) <= TRACKING_STATUSES

        # The large shop: exactly the protections asked for, attach rate 60-70 %, failed policies and claims.
        def count(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(model.shop_id == large, *where))

        protections = count(Protection)
        assert protections == 2000
        assert 0.6 <= protections / count(Payment) <= 0.7
        assert count(Payment, Payment.protected.is_(True)) == protections
        assert count(Policy, Policy.status == "bound") > 0.9 * count(Policy)
        assert count(Policy, Policy.status == "failed") >= 1
        assert 0.005 <= count(Claim) / protections <= 0.04
        assert count(Job, Job.status == "failed") >= 1
        assert count(Claim, Claim.recovery_status == "paid") >= 1
        # Each protection's payment is its shop's, each policy's shipment its shop's.
        mismatched = db.session.scalar(
            select(func.count())
            .select_from(Protection)
            .join(Payment, Payment.id == Protection.payment_id)
            .where((Payment.shop_id != Protection.shop_id) | Payment.protected.is_(False))
        )
        assert mismatched == 0
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Policy)
                .join(Shipment, Shipment.id == Policy.shipment_id)
                .where((Shipment.shop_id != Policy.shop_id) | (Shipment.protection_id != Policy.protection_id))
            )
            == 0
        )
        # The reports' pre-aggregates, rebuilt after the load (triggers were off), match the rows.
        assert stored() == expected()
        # The serial ids go on after the filled rows: the app can insert next.
        next_payment = db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('payments', 'id'))"))
        assert next_payment > db.session.scalar(select(func.max(Payment.id)))
        db.session.rollback()
