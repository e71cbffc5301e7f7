"""A shop's history written straight into the tables at chosen times, and the report it must give, worked out by
hand (the reports' tests of the API and of the dashboard share it).

The real webhooks and workers stamp rows with the time they run; the reports count rows by their times, so these
rows are written directly, with the statuses and columns the services leave behind (tests/api/test_reports.py
also builds one order through the real services and checks the report agrees with what they recorded).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from plugin.domain.ids import new_id
from plugin.extensions import db
from plugin.models import Claim, Job, Payment, Policy, Protection, Shipment

_keys = itertools.count(1)


def at(text: str) -> datetime:
    """An aware UTC time from `2026-03-01 10:00` (or with seconds)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class History:
    """Rows of one shop, added in one session and committed by `save`."""

    def __init__(self, shop_id: str, currency: str = "USD") -> None:
        self.shop_id = shop_id
        self.currency = currency

    def payment(
        self, when: str, amount: int, *, protected: bool = False, status: str = "succeeded", currency: str | None = None
    ) -> Payment:
        number = next(_keys)
        payment = Payment(
            shop_id=self.shop_id,
            payment_key=f"pi_report_{number}",
            payment_intent=f"pi_report_{number}",
            status=status,
            amount=amount,
            currency=currency or self.currency,
            amount_refunded=0,
            disputed=False,
            order_id=f"R{number}",
            protected=protected,
            succeeded_at=at(when) if status == "succeeded" else None,
            created_at=at(when),
        )
        db.session.add(payment)
        db.session.flush()
        return payment

    def protection(
        self, payment: Payment, when: str, premium: int, customer_price: int, *, status: str = "active"
    ) -> Protection:
        protection = Protection(
            id=new_id("prot"),
            shop_id=self.shop_id,
            payment_id=payment.id,
            order_id=payment.order_id,
            status=status,
            disputed=False,
            currency=self.currency,
            declared_value_amount=premium * 50,
            premium_amount=premium,
            customer_price_amount=customer_price,
            merchant_contribution_amount=premium - customer_price,
            quote_reference="qt_report",
            line_item_check="not_applicable",
            created_at=at(when),
        )
        db.session.add(protection)
        return protection

    def shipment(self, when: str) -> Shipment:
        number = next(_keys)
        shipment = Shipment(
            id=new_id("shp"),
            shop_id=self.shop_id,
            shipment_ref=f"ful_report_{number}",
            order_id=f"R{number}",
            currency=self.currency,
            items=[],
            shipped_at=at(when),
            last_tracking_at=at(when),
        )
        db.session.add(shipment)
        db.session.flush()
        return shipment

    def policy(
        self, created: str, status: str, *, bound: str | None = None, cost: int | None = None
    ) -> Policy:  # fmt: skip
        shipment = self.shipment(created)
        policy = Policy(
            id=new_id("pol"),
            shop_id=self.shop_id,
            shipment_id=shipment.id,
            order_id=shipment.order_id,
            provider="sandbox",
            status=status,
            currency=self.currency,
            sum_insured_amount=50000,
            cost_amount=cost,
            bound_at=at(bound) if bound else None,
            created_at=at(created),
        )
        db.session.add(policy)
        return policy

    def claim(self, created: str, status: str, **fields: Any) -> Claim:
        shipment = self.shipment(created)
        times = {name: at(fields.pop(name)) for name in ("decided_at", "paid_at") if name in fields}
        claim = Claim(
            id=new_id("clm"),
            shop_id=self.shop_id,
            order_id=shipment.order_id,
            shipment_id=shipment.id,
            type=fields.pop("type", "lost"),
            status=status,
            source="api",
            currency=self.currency,
            amount=fields.pop("amount", 10000),
            covered_amount=50000,
            created_at=at(created),
            **times,
            **fields,
        )
        db.session.add(claim)
        return claim

    def failed_job(self) -> Job:
        job = Job(
            id=new_id("job"),
            shop_id=self.shop_id,
            kind="bind_policy",
            subject="pol_x",
            idempotency_key=new_id("key"),
            status="failed",
            last_error="refused",
        )
        db.session.add(job)
        return job

    def save(self) -> None:
        db.session.commit()


def coverage_history(app: Flask, shop_id: str) -> None:
    """In the hand-computed period: one shipping-only, one bundled and one returns-only protection, a lost parcel
    paid and a return label paid."""
    with app.app_context():
        history = History(shop_id)
        history.protection(history.payment("2026-03-01 10:00", 51000, protected=True), "2026-03-01 10:00", 1000, 1000)
        bundle = history.protection(
            history.payment("2026-03-01 11:00", 51500, protected=True), "2026-03-01 11:00", 1500, 1250
        )
        bundle.covers_returns, bundle.returns_premium_amount = True, 500
        bundle.returns_customer_price_amount, bundle.returns_merchant_contribution_amount = 250, 250
        alone = history.protection(
            history.payment("2026-03-02 09:00", 50400, protected=True), "2026-03-02 09:00", 400, 400
        )
        alone.covers_shipping, alone.covers_returns = False, True
        alone.returns_premium_amount, alone.returns_customer_price_amount = 400, 400
        voided = history.protection(
            history.payment("2026-03-02 10:00", 50400, protected=True), "2026-03-02 10:00", 400, 400, status="voided"
        )
        voided.covers_shipping, voided.covers_returns = False, True
        voided.returns_premium_amount, voided.returns_customer_price_amount = 400, 400
        history.claim("2026-03-02 12:00", "paid", paid_at="2026-03-03 08:00", approved_amount=3000)
        history.claim(
            "2026-03-02 13:00", "paid", paid_at="2026-03-03 09:00", approved_amount=600, type="return_shipping"
        )
        history.claim("2026-03-02 14:00", "submitted", type="return_shipping")
        history.save()


# The hand-computed period: 1, 2 and 3 March 2026 in the shop's zone (UTC here).
PERIOD = {"from": "2026-03-01", "to": "2026-03-04"}


def hand_computed_history(app: Flask, shop_id: str) -> None:
    """The shop's history the EXPECTED report is worked out from (comments give each row's part)."""
    with app.app_context():
        h = History(shop_id)
        # Orders: five in the period (one in euros: an order, but not in the average order value).
        p1 = h.payment("2026-03-01 10:00", 51000, protected=True)
        p2 = h.payment("2026-03-01 12:00", 101000, protected=True)
        h.payment("2026-03-02 09:00", 30000)
        p4 = h.payment("2026-03-03 23:59:59", 20000, protected=True)
        h.payment("2026-03-02 15:00", 5000, currency="EUR")
        p5 = h.payment("2026-03-04 00:00", 10000, protected=True)  # `to` is exclusive
        h.payment("2026-02-28 23:59:59", 10000, protected=True)  # before `from`
        h.payment("2026-03-02 10:00", 40000, protected=True, status="failed")  # never succeeded
        # Protections: premium 1,000 (the merchant pays 300 of it) and 2,200 (under review: still counted);
        # a voided one and one after the period are left out.
        h.protection(p1, "2026-03-01 10:00", 1000, 700)
        h.protection(p2, "2026-03-01 12:00", 2200, 2200, status="needs_review")
        h.protection(p4, "2026-03-03 23:59:59", 400, 400, status="voided")
        h.protection(p5, "2026-03-04 00:00", 500, 500)
        # Policies: cost counts by bind time, success by creation time.
        h.policy("2026-03-01 11:00", "bound", bound="2026-03-01 11:05", cost=150)
        h.policy("2026-03-01 13:00", "bound", bound="2026-03-02 08:00", cost=250)
        h.policy("2026-03-02 10:00", "failed")
        h.policy("2026-03-02 11:00", "cancelled", bound="2026-03-02 11:01", cost=300)  # bought, then cancelled
        h.policy("2026-03-03 10:00", "pending")  # still being bought: not in the success rate
        h.policy("2026-02-27 10:00", "bound", bound="2026-03-01 09:00", cost=100)  # asked before, bound in
        h.policy("2026-03-02 12:00", "bound", bound="2026-03-04 00:00", cost=999)  # bound after the period
        # Claims.
        h.claim("2026-03-01 14:00", "paid", decided_at="2026-03-01 15:00", paid_at="2026-03-02 10:00",
                resolution="refund", approved_amount=5000, recovery_status="paid", recovery_amount=4000)  # fmt: skip
        h.claim("2026-03-02 09:00", "denied", decided_at="2026-03-02 09:30", deny_reason="No proof.")
        h.claim("2026-03-02 12:00", "reshipped", decided_at="2026-03-03 12:00", resolution="reship",
                approved_amount=8000, reship_cost_amount=1200, recovery_status="reserve",
                recovery_amount=8000)  # fmt: skip
        h.claim("2026-03-03 08:00", "needs_review", review_reason="evidence_reused")
        h.claim("2026-02-20 20:00", "paid", decided_at="2026-02-21 10:00", paid_at="2026-03-03 20:00",
                resolution="refund", approved_amount=3000, recovery_status="filed", recovery_amount=3000)  # fmt: skip
        h.claim("2026-03-03 09:00", "approved", decided_at="2026-03-03 09:00", resolution="refund",
                approved_amount=2000, refund_status="pending")  # fmt: skip
        h.claim("2026-03-02 00:00", "paid", decided_at="2026-03-03 00:00", paid_at="2026-03-04 00:00",
                resolution="refund", approved_amount=7000)  # fmt: skip
        h.failed_job()
        h.save()


DAY_FIELDS = (
    "orders",
    "protected_orders",
    "premium_collected",
    "merchant_contribution",
    "insurance_cost",
    "claims_filed",
    "claims_paid",
    "claims_paid_amount",
    "recovered_amount",
    "margin",
)


def _day(date: str, *values: int) -> dict[str, Any]:
    return {"date": date, **dict(zip(DAY_FIELDS, values, strict=True))}


# Worked out by hand from hand_computed_history for PERIOD.
EXPECTED: dict[str, Any] = {
    "object": "report",
    "from": "2026-03-01T00:00:00Z",
    "to": "2026-03-04T00:00:00Z",
    "timezone": "UTC",
    "currency": "USD",
    "orders": 5,  # 10:00 and 12:00 on the 1st, 09:00 and the euro one on the 2nd, 23:59:59 on the 3rd
    "protected_orders": 3,
    "attach_rate": "0.6000",  # 3 / 5
    "average_order_value": 50500,  # (51,000 + 101,000 + 30,000 + 20,000) / 4 dollar orders
    "protections": 2,
    "average_premium": 1600,  # (1,000 + 2,200) / 2
    "premium_collected": 2900,  # 700 + 2,200
    "merchant_contribution": 300,
    "insurance_cost": 500,  # 150 + 250 + 100 (the cancelled one's 300 and the late 999 left out)
    "claims_filed": 6,
    "claims_paid": 3,  # paid on the 2nd, reshipped on the 3rd, paid on the 3rd (filed in February)
    "claims_paid_amount": 9200,  # 5,000 + the reship's cost 1,200 + 3,000
    "recovered_amount": 4000,  # the insurer's payment; a reserve draw and a claim only filed are not recovered
    "margin": -2800,  # 2,900 - 500 - 9,200 + 4,000
    "loss_ratio": "3.1724",  # 9,200 / 2,900 = 3.17241…
    # Asked for in the period: bound (twice), bound then cancelled, bound after the period, failed, pending.
    "policies_bound": 4,
    "policies_failed": 1,
    "policy_bind_success_rate": "0.8000",  # 4 / 5: below 95 %
    "claims_decided": 5,
    "claims_denied": 1,
    "claim_rejection_rate": "0.2000",
    "protection_cost_share": "0.0317",  # 1,600 / 50,500 = 0.031683…: above 3 %
    "median_seconds_to_decide": 3600,  # 0, 1,800, 3,600, 86,400, 86,400
    "median_seconds_to_pay": 86400,  # 72,000, 86,400, 950,400
    "daily": [
        # 1st: margin 2,900 - 250; 2nd: -250 - 5,000 + 4,000; 3rd: -1,200 - 3,000
        _day("2026-03-01", 2, 2, 2900, 300, 250, 1, 0, 0, 0, 2650),
        _day("2026-03-02", 2, 0, 0, 0, 250, 3, 1, 5000, 4000, -1250),
        _day("2026-03-03", 1, 1, 0, 0, 0, 2, 2, 4200, 0, -4200),
    ],
}
EXPECTED["coverages"] = {
    "shipping": {
        key: EXPECTED[key]
        for key in (
            "protected_orders",
            "protections",
            "premium_collected",
            "merchant_contribution",
            "insurance_cost",
            "claims_filed",
            "claims_paid",
            "claims_paid_amount",
            "recovered_amount",
            "margin",
            "loss_ratio",
        )
    },
    # No protection of this history bought the return cover.
    "returns": {
        "protected_orders": 0,
        "protections": 0,
        "premium_collected": 0,
        "merchant_contribution": 0,
        "insurance_cost": 0,
        "claims_filed": 0,
        "claims_paid": 0,
        "claims_paid_amount": 0,
        "recovered_amount": 0,
        "margin": 0,
        "loss_ratio": None,
    },
}
EXPECTED_ALERTS = [
    ("policy_bind_success_below_target", "policy_bind_success_rate", "0.8000", "0.95"),
    ("protection_cost_share_above_target", "protection_cost_share", "0.0317", "0.03"),
]
