"""The reports read through the pre-aggregates (PostgreSQL) give exactly the answer the rows give, for any zone
and any bounds: every field of GET /api/v1/reports/summary is compared with the same report read from the rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from plugin.extensions import db
from plugin.services import report_rollup
from tests.conftest import bearer
from tests.report_helpers import History, hand_computed_history

SUMMARY = "/api/v1/reports/summary"


def _answer(client, shop, query: dict[str, str]) -> dict:
    response = client.get(SUMMARY, query_string=query, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _random_history(app, shop_id: str, seed: int) -> None:
    """A few hundred rows at random seconds around two changes of offset, in every status the reports tell apart."""
    rng = random.Random(seed)
    start = datetime(2026, 2, 25, tzinfo=UTC)

    def moment() -> str:
        return (start + timedelta(seconds=rng.randrange(40 * 86400))).strftime("%Y-%m-%d %H:%M:%S")

    with app.app_context():
        h = History(shop_id)
        for _ in range(120):
            when = moment()
            payment = h.payment(when, rng.randrange(1000, 90000), protected=rng.random() < 0.7,
                                status=rng.choice(("succeeded",) * 9 + ("failed",)),
                                currency=rng.choice(("USD",) * 9 + ("EUR",)))  # fmt: skip
            if payment.protected and payment.status == "succeeded":
                premium = rng.randrange(100, 3000)
                h.protection(payment, when, premium, premium - rng.randrange(0, 100),
                             status=rng.choice(("active", "active", "needs_review", "voided")))  # fmt: skip
        for _ in range(80):
            created = moment()
            status = rng.choice(("bound", "bound", "bound", "failed", "pending", "retrying", "cancelled"))
            bound = moment() if status in ("bound", "cancelled") else None
            h.policy(created, status, bound=bound, cost=rng.choice((None, rng.randrange(50, 900))))
        for _ in range(40):
            status = rng.choice(("submitted", "needs_review", "approved", "denied", "paid", "reshipped"))
            fields = {}
            if status != "submitted" and status != "needs_review":
                fields["decided_at"] = moment()
            if status == "paid":
                fields["paid_at"] = moment()
            if status in ("paid", "approved", "reshipped"):
                fields["approved_amount"] = rng.randrange(500, 9000)
            if status == "reshipped":
                fields["reship_cost_amount"] = rng.randrange(300, 2000)
            if status in ("paid", "reshipped"):
                fields["recovery_status"] = rng.choice(("paid", "filed", "rejected"))
                fields["recovery_amount"] = rng.randrange(100, 5000)
            h.claim(moment(), status, **fields)
        h.save()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"])
def test_the_pre_aggregates_answer_as_the_rows_do(app, client, shop, monkeypatch, zone):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the pre-aggregates are kept on PostgreSQL only")
    hand_computed_history(app, shop.shop.id)
    _random_history(app, shop.shop.id, seed=len(zone))
    response = client.patch("/api/v1/settings", json={"shop": {"timezone": zone}},
                            headers=bearer(shop.keys.secret_key))  # fmt: skip
    assert response.status_code == 200, response.get_json()
    queries = [
        {},  # all time
        {"from": "2026-03-01", "to": "2026-03-04"},
        {"from": "2026-02-20", "to": "2026-04-10"},  # across the changes of offset
        {"from": "2026-03-08T06:59:59Z", "to": "2026-04-05T15:16:17Z"},  # ragged edges
        {"from": "2026-03-02T00:00:01Z", "to": "2026-03-03T00:30:01Z"},  # a day and a bit: buckets inside
        {"from": "2026-03-02T10:00:00Z", "to": "2026-03-02T20:00:00Z"},  # under a day: the rows alone
    ]
    split = report_rollup.split
    used = []

    def spying(*args, **kwargs):
        cut = split(*args, **kwargs)
        used.append(cut is not None)
        return cut

    for query in queries:
        monkeypatch.setattr(report_rollup, "split", spying)
        kept = _answer(client, shop, query)
        monkeypatch.setattr(report_rollup, "split", lambda *args, **kwargs: None)
        rows = _answer(client, shop, query)
        assert kept == rows, query
    # Lord Howe's half-hour daylight saving and Kathmandu's 5:45 fall on quarter hours: every zone used the buckets.
    assert used == [True, True, True, True, True, False]
