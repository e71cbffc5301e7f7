"""The reports' pre-aggregates (report_rows) stay equal to the figures counted from the rows, after every kind of
change, after compaction and after a rebuild; on SQLite there are none and nothing reads them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from plugin.extensions import db
from plugin.models import Claim, Payment, Policy, Protection, ReportRow, Shipment, Shop
from plugin.services import report_rollup
from plugin.services.report_rollup import BUCKET_SECONDS, FIGURES

T0 = datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)  # a second before a quarter hour, on a daylight-saving day


def _bucket(moment: datetime) -> int:
    return int(moment.timestamp()) // BUCKET_SECONDS


def expected() -> dict[tuple[str, int, str], Counter[str]]:
    """Every figure per (shop, bucket, currency), counted in Python from the rows by the reports' rules."""
    figures: dict[tuple[str, int, str], Counter[str]] = {}

    def add(shop_id: str, moment: datetime, currency: str, **values: int) -> None:
        figures.setdefault((shop_id, _bucket(moment), currency), Counter()).update(values)

    for payment in db.session.scalars(select(Payment)):
        if payment.status == "succeeded" and payment.succeeded_at is not None:
            add(payment.shop_id, payment.succeeded_at, payment.currency or "", orders=1,
                protected_orders=int(payment.protected), priced_orders=int(payment.amount is not None),
                order_amount=payment.amount or 0)  # fmt: skip
    for protection in db.session.scalars(select(Protection)):
        if protection.status != "voided":
            add(protection.shop_id, protection.created_at, protection.currency, protections=1,
                premium=protection.premium_amount, premium_collected=protection.customer_price_amount,
                merchant_contribution=protection.merchant_contribution_amount)  # fmt: skip
    for policy in db.session.scalars(select(Policy)):
        if policy.status == "bound" and policy.bound_at is not None:
            add(policy.shop_id, policy.bound_at, policy.currency, insurance_cost=policy.cost_amount or 0)
        if policy.bound_at is not None or policy.status == "failed":
            add(policy.shop_id, policy.created_at, policy.currency, policies_bound=int(policy.bound_at is not None),
                policies_failed=int(policy.status == "failed"))  # fmt: skip
    for claim in db.session.scalars(select(Claim)):
        add(claim.shop_id, claim.created_at, claim.currency, claims_filed=1)
        settled = claim.paid_at if claim.status == "paid" else claim.decided_at if claim.status == "reshipped" else None
        if settled is not None:
            paid_out = (claim.reship_cost_amount if claim.status == "reshipped" else claim.approved_amount) or 0
            recovered = (claim.recovery_amount or 0) if claim.recovery_status == "paid" else 0
            add(claim.shop_id, settled, claim.currency, claims_paid=1, claims_paid_amount=paid_out,
                recovered_amount=recovered)  # fmt: skip
        if claim.decided_at is not None:
            add(claim.shop_id, claim.decided_at, claim.currency, claims_decided=1,
                claims_denied=int(claim.status == "denied"))  # fmt: skip
    return {key: +counter for key, counter in figures.items() if +counter}


def stored() -> dict[tuple[str, int, str], Counter[str]]:
    """The same, summed from report_rows."""
    sums = [func.sum(getattr(ReportRow, name)) for name in FIGURES]
    rows = db.session.execute(
        select(ReportRow.shop_id, ReportRow.bucket, ReportRow.currency, *sums).group_by(
            ReportRow.shop_id, ReportRow.bucket, ReportRow.currency
        )
    )
    found = {(row[0], row[1], row[2]): +Counter(dict(zip(FIGURES, map(int, row[3:]), strict=True))) for row in rows}
    return {key: counter for key, counter in found.items() if counter}


@pytest.fixture()
def postgresql(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the pre-aggregates are kept on PostgreSQL only")
    return app


def _payment(shop_id: str, key: str, **values) -> Payment:
    defaults = {"status": "succeeded", "amount": 10000, "currency": "USD", "amount_refunded": 0, "disputed": False,
                "protected": False, "succeeded_at": T0, "created_at": T0}  # fmt: skip
    return Payment(shop_id=shop_id, payment_key=key, **{**defaults, **values})


def _protection(shop_id: str, payment: Payment, number: int, **values) -> Protection:
    defaults = {"status": "active", "currency": "USD", "declared_value_amount": 10000, "premium_amount": 200,
                "customer_price_amount": 150, "merchant_contribution_amount": 50, "quote_reference": "qt_x",
                "disputed": False, "created_at": T0}  # fmt: skip
    return Protection(id=f"prot_{number:024d}", shop_id=shop_id, payment=payment, **{**defaults, **values})


def _policy(shop_id: str, protection: Protection, number: int, **values) -> Policy:
    shipment = Shipment(id=f"shp_{number:024d}", shop_id=shop_id, shipment_ref=f"ful_{number}", order_id="o",
                        protection_id=protection.id, currency="USD", shipped_at=T0, last_tracking_at=T0)  # fmt: skip
    defaults = {"provider": "sandbox", "status": "pending", "currency": "USD", "sum_insured_amount": 10000,
                "attempts": 0, "key_generation": 0, "created_at": T0}  # fmt: skip
    return Policy(id=f"pol_{number:024d}", shop_id=shop_id, shipment=shipment, order_id="o",
                  protection_id=protection.id, **{**defaults, **values})  # fmt: skip


def _claim(shop_id: str, policy: Policy, number: int) -> Claim:
    return Claim(id=f"clm_{number:024d}", shop_id=shop_id, order_id="o", shipment_id=policy.shipment_id,
                 protection_id=policy.protection_id, policy_id=policy.id, type="lost", status="submitted",
                 source="api", currency="USD", amount=1000, covered_amount=1000,
                 created_at=T0 + timedelta(days=1, seconds=number))  # fmt: skip


def test_the_figures_are_the_models_columns():
    assert set(FIGURES) == {c.name for c in ReportRow.__table__.columns} - {"id", "shop_id", "bucket", "currency",
                                                                             "merged"}  # fmt: skip


def test_triggers_compaction_and_rebuild_keep_the_figures(postgresql, shop, new_shop):
    other = new_shop("Other", "EUR").shop.id
    shop_id = shop.shop.id
    with postgresql.app_context():
        # Inserts: payments at the edge of a quarter hour, without currency or amount, in another shop.
        paid = [_payment(shop_id, f"pi_{n}", succeeded_at=T0 + timedelta(seconds=n), protected=n % 2 == 0)
                for n in range(4)]  # fmt: skip
        paid.append(_payment(shop_id, "pi_nocurrency", currency=None, amount=None))
        paid.append(_payment(shop_id, "pi_unknown", status="unknown", succeeded_at=None))
        paid.append(_payment(other, "pi_other", currency="EUR"))
        db.session.add_all(paid)
        protections = [_protection(shop_id, paid[n], n, created_at=T0 + timedelta(seconds=n)) for n in range(3)]
        protections.append(_protection(shop_id, paid[3], 3, currency="EUR", premium_amount=999))
        db.session.add_all(protections)
        db.session.flush()  # the shipments name their protection by id
        policies = [_policy(shop_id, protections[n], n) for n in range(3)]
        db.session.add_all(policies)
        db.session.flush()
        claims = [_claim(shop_id, policies[n], n) for n in range(3)]
        db.session.add_all(claims)
        db.session.commit()
        assert stored() == expected()

        # Updates: a payment succeeds later, a protection is voided, policies are bound, fail, are cancelled.
        paid[5].status, paid[5].succeeded_at, paid[5].protected = "succeeded", T0 + timedelta(days=40), True
        paid[0].amount_refunded = 500  # not counted: nothing appended
        protections[1].status = "voided"
        protections[2].customer_price_amount = 175
        policies[0].status, policies[0].bound_at, policies[0].cost_amount = "bound", T0 + timedelta(hours=3), 120
        policies[1].status = "failed"
        policies[2].status, policies[2].bound_at, policies[2].cost_amount = "bound", T0 + timedelta(days=1), None
        db.session.commit()
        policies[2].status = "cancelled"  # bought, then cancelled: no cost, still counted as bought when asked
        policies[1].status = "retrying"  # a merchant's retry of a failed one
        # Claims: one paid (later recovered from the insurer), one reshipped, one denied.
        claims[0].status, claims[0].decided_at, claims[0].approved_amount = "approved", T0 + timedelta(days=2), 900
        claims[1].status, claims[1].decided_at, claims[1].reship_cost_amount = "reshipped", T0 + timedelta(days=3), 700
        claims[2].status, claims[2].decided_at = "denied", T0 + timedelta(days=3, seconds=1)
        db.session.commit()
        claims[0].status, claims[0].paid_at = "paid", T0 + timedelta(days=4)
        claims[0].recovery_status, claims[0].recovery_amount = "pending", 800
        db.session.commit()
        claims[0].recovery_status = "paid"
        claims[1].currency = "EUR"  # not the shop's: left out of the money, still counted as decided
        db.session.commit()
        assert stored() == expected()
        appended = db.session.scalar(select(func.count()).select_from(ReportRow))

        # A delete, and a transaction rolled back: its deltas go with it.
        db.session.execute(delete(Payment).where(Payment.payment_key == "pi_nocurrency"))
        db.session.commit()
        protections[0].status = "voided"
        db.session.flush()
        db.session.rollback()
        assert stored() == expected()

        written = report_rollup.compact()
        db.session.commit()
        assert 0 < written < appended
        assert stored() == expected()
        keys = db.session.execute(
            select(ReportRow.shop_id, ReportRow.bucket, ReportRow.currency, func.count())
            .group_by(ReportRow.shop_id, ReportRow.bucket, ReportRow.currency)
            .having(func.count() > 1)
        ).all()
        assert keys == []
        assert db.session.scalar(select(func.count()).where(ReportRow.merged.is_(False))) == 0
        assert report_rollup.compact() == 0

        report_rollup.rebuild()
        db.session.commit()
        assert stored() == expected()

        # A shop's deletion takes its rows along (the cascade appends nothing for a shop that is gone).
        db.session.execute(delete(Shop).where(Shop.id == other))
        db.session.commit()
        assert db.session.scalar(select(func.count()).where(ReportRow.shop_id == other)) == 0
        assert stored() == expected()


def test_sqlite_keeps_no_pre_aggregates(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert not report_rollup.available()
        assert report_rollup.compact() == 0


def test_the_worker_compacts_once_per_interval(postgresql, shop):
    from tests.api.test_worker import Clock, worker

    with postgresql.app_context():
        payment = _payment(shop.shop.id, "pi_1")
        db.session.add(payment)
        db.session.commit()
        payment.amount = 20000
        db.session.commit()
        assert db.session.scalar(select(func.count()).where(ReportRow.merged.is_(False))) == 3
    clock = Clock()
    first, second = worker(postgresql, clock=clock), worker(postgresql, clock=clock)
    first.run_periodic()
    with postgresql.app_context():
        assert db.session.scalar(select(func.count()).where(ReportRow.merged.is_(False))) == 0
        assert stored() == expected()
        payment = db.session.scalars(select(Payment)).one()
        payment.amount = 30000
        db.session.commit()
    second.run_periodic()  # within the interval: another worker's turn has not come
    with postgresql.app_context():
        assert db.session.scalar(select(func.count()).where(ReportRow.merged.is_(False))) == 2
    clock.advance(seconds=report_rollup.COMPACTION_INTERVAL.total_seconds() + 61)
    second.run_periodic()
    with postgresql.app_context():
        assert db.session.scalar(select(func.count()).where(ReportRow.merged.is_(False))) == 0
        assert stored() == expected()


def test_the_rebuild_command(app, shop):
    with app.app_context():
        db.session.add(_payment(shop.shop.id, "pi_1"))
        db.session.commit()
        postgresql = db.engine.dialect.name == "postgresql"
        if postgresql:
            db.session.execute(delete(ReportRow))  # as after a load with triggers off
            db.session.commit()
    result = app.test_cli_runner().invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert f'"rows": {int(postgresql)}' in result.output  # SQLite keeps none: its reports read the rows
    if not postgresql:
        return
    with app.app_context():
        assert stored() == expected() != {}


@dataclass(frozen=True)
class Segment:
    until: int | None
    offset: int


def test_read_sums_each_local_day_across_a_change_of_offset(postgresql, shop):
    # New York on 2026-03-08: UTC-5 until 07:00Z, then UTC-4. Local midnights: 05:00Z on the 8th, 04:00Z on the 9th.
    change = int(datetime(2026, 3, 8, 7, tzinfo=UTC).timestamp())
    segments = [Segment(change, -5 * 3600), Segment(None, -4 * 3600)]
    moments = [datetime(2026, 3, 8, 4, 59, 59, tzinfo=UTC), datetime(2026, 3, 8, 5, tzinfo=UTC),
               datetime(2026, 3, 9, 3, 59, 59, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC),
               datetime(2026, 3, 10, 12, tzinfo=UTC)]  # fmt: skip
    with postgresql.app_context():
        for number, moment in enumerate(moments):
            db.session.add(_payment(shop.shop.id, f"pi_{number}", succeeded_at=moment, amount=100 * (number + 1)))
        db.session.add(_payment(shop.shop.id, "pi_eur", currency="EUR", succeeded_at=moments[-1]))
        db.session.commit()
        start, end = datetime(2026, 3, 7, 5, tzinfo=UTC), datetime(2026, 3, 11, 4, tzinfo=UTC)
        cut = report_rollup.split(start, end, segments)
        assert cut is not None and (cut.middle_start, cut.middle_end) == (start, end)
        kept = report_rollup.read(shop.shop.id, "USD", cut, segments)
        by_day = {day: (figures["orders"], figures["priced_orders"], figures["order_amount"])
                  for day, figures in kept.days}  # fmt: skip
        day = int(datetime(2026, 3, 7, tzinfo=UTC).timestamp()) // 86400  # the 7th, as a day number
        assert by_day == {day: (1, 1, 100), day + 1: (2, 2, 500), day + 2: (1, 1, 400), day + 3: (2, 1, 500)}
        # An offset off the quarter hours, or a short period, is left to the rows.
        assert report_rollup.split(start, end, [Segment(None, 5 * 3600 + 600)]) is None
        assert report_rollup.split(start, start + timedelta(hours=23), segments) is None
        ragged = report_rollup.split(start + timedelta(seconds=1), end - timedelta(seconds=1), segments)
        assert ragged is not None
        assert (ragged.middle_start, ragged.middle_end) == (start + timedelta(minutes=15), end - timedelta(minutes=15))
