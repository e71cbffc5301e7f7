"""The shop's last-30-day figures, the price tier they earn, the worker's stored tiers and their history, and
GET /api/v1/reports/performance."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import PerformanceTierChange, ShopPerformance, utcnow
from plugin.services import performance
from plugin.services.shop_snapshots import load_grant
from plugin.services.shops import get_shop
from plugin.worker import Worker
from tests.conftest import bearer
from tests.performance_helpers import ON_TIME_TIERS, deliveries, returns
from tests.report_helpers import History

PERFORMANCE = "/api/v1/reports/performance"


def set_tiers(client, shop, shipping=None, returns_tiers=None) -> None:
    patch: dict = {}
    if shipping is not None:
        patch["pricing"] = {"performance_tiers": shipping}
    if returns_tiers is not None:
        patch["coverage"] = {"returns": {"pricing": {"performance_tiers": returns_tiers}}}
    response = client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def measured(app, shop_id, now):
    with app.app_context():
        return performance.measure(get_shop(shop_id), now)


def tier_of(app, shop_id, now, coverage="shipping"):
    with app.app_context():
        shop = get_shop(shop_id)
        from plugin.services.settings import effective_settings

        return performance.standings(effective_settings(shop), performance.measure(shop, now))[coverage].index


def test_tiers_apply_from_fifty_deliveries_and_follow_the_on_time_rate(app, client, shop):
    set_tiers(client, shop, ON_TIME_TIERS)
    shop_id, now = shop.shop.id, utcnow()
    with app.app_context():
        deliveries(shop_id, now, 49)
    figures = measured(app, shop_id, now)
    assert (figures.delivered, figures.on_time_rate) == (49, Decimal("1.0000"))
    assert tier_of(app, shop_id, now) is None  # 49 delivered: too few, whatever the rate
    with app.app_context():
        deliveries(shop_id, now, 1)
    assert tier_of(app, shop_id, now) == 0  # the 50th delivery: 100 % on time earns the first tier
    with app.app_context():
        deliveries(shop_id, now, 47)
        deliveries(shop_id, now, 2, late=True)
    figures = measured(app, shop_id, now)
    assert (figures.delivered, figures.on_time_rate) == (99, Decimal("0.9798"))  # 97 of 99: 97.98 %
    assert tier_of(app, shop_id, now) == 1
    with app.app_context():
        deliveries(shop_id, now, 1)
    figures = measured(app, shop_id, now)
    assert (figures.delivered, figures.on_time_rate) == (100, Decimal("0.9800"))  # 98 of 100: exactly 98 %
    assert tier_of(app, shop_id, now) == 0


def test_the_window_is_the_last_thirty_days_and_cancelled_parcels_do_not_count(app, client, shop):
    shop_id, now = shop.shop.id, utcnow()
    with app.app_context():
        deliveries(shop_id, now, 3, days_ago=29.9)
        deliveries(shop_id, now, 4, days_ago=30.1)  # before the window
        deliveries(shop_id, now, 1, late=True, days_ago=0.5)
        deliveries(shop_id, now, 5, days_ago=2, cancelled=True)
    assert measured(app, shop_id, now).delivered == 4
    assert measured(app, shop_id, now).on_time_rate == Decimal("0.7500")
    # A day earlier: the window takes the four of 30.1 days ago and leaves out the late one.
    assert measured(app, shop_id, now - timedelta(days=1)).on_time_rate == Decimal("1.0000")
    assert measured(app, shop_id, now - timedelta(days=1)).delivered == 7


def test_on_time_follows_claims_delayed_after_days(app, client, shop):
    shop_id, now = shop.shop.id, utcnow()
    with app.app_context():
        deliveries(shop_id, now, 4, late=True)  # 11 days in transit
    assert measured(app, shop_id, now).on_time_rate == Decimal("0.0000")
    response = client.patch(
        "/api/v1/settings", json={"claims": {"delayed_after_days": 12}}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 200
    assert measured(app, shop_id, now).on_time_rate == Decimal("1.0000")


def test_return_rate_and_loss_ratio_tiers(app, client, shop):
    shop_id, now = shop.shop.id, utcnow()
    set_tiers(
        client,
        shop,
        [{"metric": "loss_ratio", "below": "0.5", "rate": "0.009"}],
        [{"metric": "return_rate", "below": "0.1", "rate": "0.005"}, {"metric": "return_rate", "at_least": "0.1",
                                                                      "rate": "0.02"}],
    )  # fmt: skip
    with app.app_context():
        deliveries(shop_id, now, 60)
        returns(shop_id, now, 5)
        returns(shop_id, now, 9, days_ago=31)  # before the window
    figures = measured(app, shop_id, now)
    assert figures.return_rate == Decimal("0.0833")  # 5 of 60
    assert figures.loss_ratio is None  # no premium collected
    assert tier_of(app, shop_id, now, "returns") == 0
    assert tier_of(app, shop_id, now, "shipping") is None  # a loss ratio of None matches no tier
    with app.app_context():
        returns(shop_id, now, 1)
    assert tier_of(app, shop_id, now, "returns") == 1  # 6 of 60 = 10 %
    day = (now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    with app.app_context():
        history = History(shop_id)
        payment = history.payment(day, 50000, protected=True)
        history.protection(payment, day, 1000, 1000)
        history.claim(day, "paid", decided_at=day, paid_at=day, resolution="refund", approved_amount=400)
        history.save()
    assert measured(app, shop_id, now).loss_ratio == Decimal("0.4000")
    assert tier_of(app, shop_id, now, "shipping") == 0
    with app.app_context():
        history = History(shop_id)
        history.claim(day, "reshipped", decided_at=day, resolution="reship", approved_amount=900,
                      reship_cost_amount=100)  # fmt: skip
        history.save()
    assert measured(app, shop_id, now).loss_ratio == Decimal("0.5000")
    assert tier_of(app, shop_id, now, "shipping") is None


def test_figures_are_the_shops_own(app, client, shop, new_shop):
    other = new_shop("Other")
    set_tiers(client, shop, ON_TIME_TIERS)
    now = utcnow()
    with app.app_context():
        deliveries(other.shop.id, now, 80)
        returns(other.shop.id, now, 8)
        deliveries(shop.shop.id, now, 10)
    figures = measured(app, shop.shop.id, now)
    assert (figures.delivered, figures.return_rate) == (10, Decimal("0.0000"))
    body = client.get(PERFORMANCE, headers=bearer(shop.keys.secret_key)).get_json()
    assert (body["delivered"], body["tier"]) == (10, None)
    body = client.get(PERFORMANCE, headers=bearer(other.keys.secret_key)).get_json()
    assert (body["delivered"], body["return_rate"]) == (80, "0.1000")


def test_the_worker_stores_the_tiers_records_each_change_and_fills_the_snapshot(app, client, shop):
    set_tiers(client, shop, ON_TIME_TIERS)
    shop_id, now = shop.shop.id, utcnow()
    with app.app_context():
        assert load_grant_for(shop).shop.performance is None  # never measured
        deliveries(shop_id, now, 50)
    clock = [now]
    worker = Worker(app, clock=lambda: clock[0])
    worker.run_periodic()
    with app.app_context():
        row = db.session.get(ShopPerformance, shop_id)
        assert (row.delivered, row.on_time_rate, row.shipping_tier, row.returns_tier) == (50, "1.0000", 0, None)
        assert row.shipping_tier_changed_at == now
        snapshot = load_grant_for(shop).shop
        assert snapshot.performance is not None
        assert (snapshot.performance.delivered, snapshot.performance.on_time_rate) == (50, Decimal("1.0000"))
        deliveries(shop_id, now, 2, late=True)  # 50 of 52 on time: 96.15 %
    clock[0] = now + timedelta(minutes=5)
    worker = Worker(app, clock=lambda: clock[0])
    worker.run_periodic()  # within the interval: nothing is measured again
    with app.app_context():
        assert db.session.get(ShopPerformance, shop_id).delivered == 50
    clock[0] = now + timedelta(minutes=16)
    Worker(app, clock=lambda: clock[0]).run_periodic()
    with app.app_context():
        row = db.session.get(ShopPerformance, shop_id)
        assert (row.delivered, row.shipping_tier, row.shipping_tier_changed_at) == (52, 1, clock[0])
        changes = db.session.scalars(
            select(PerformanceTierChange).where(PerformanceTierChange.shop_id == shop_id).order_by(
                PerformanceTierChange.changed_at)
        ).all()  # fmt: skip
        assert [(c.coverage, c.from_tier, c.to_tier, c.delivered, c.on_time_rate) for c in changes] == [
            ("shipping", None, 0, 50, "1.0000"),
            ("shipping", 0, 1, 52, "0.9615"),
        ]
        assert [c.to_tier for c in performance.history(shop_id)] == [1, 0]  # newest first
    body = client.get(PERFORMANCE, headers=bearer(shop.keys.secret_key)).get_json()
    assert body["tier_changed_at"] == clock[0].strftime("%Y-%m-%dT%H:%M:%SZ")


def load_grant_for(created):
    from plugin.auth import hash_key

    return load_grant(hash_key(created.keys.secret_key))


def test_the_api_answers_the_figures_measured_now(app, client, shop):
    set_tiers(client, shop, ON_TIME_TIERS, [{"metric": "return_rate", "below": "0.05", "rate": "0.004"}])
    headers = bearer(shop.keys.secret_key)
    body = client.get(PERFORMANCE, headers=headers).get_json()
    assert body == {
        "window_days": 30,
        "delivered": 0,
        "minimum_delivered": 50,
        "on_time_rate": None,
        "loss_ratio": None,
        "return_rate": None,
        "tier": None,
        "returns_tier": None,
        "rate": {"shipping": "0.02", "returns": "0.01"},  # the coverages' own rates
        "tier_changed_at": None,
        "returns_tier_changed_at": None,
        "computed_at": None,
    }
    now = utcnow()
    with app.app_context():
        deliveries(shop.shop.id, now, 49)
        deliveries(shop.shop.id, now, 1, late=True)
        returns(shop.shop.id, now, 2)
    body = client.get(PERFORMANCE, headers=headers).get_json()
    assert {key: body[key] for key in ("delivered", "on_time_rate", "return_rate", "tier", "returns_tier")} == {
        "delivered": 50,
        "on_time_rate": "0.9800",
        "return_rate": "0.0400",
        "tier": 0,
        "returns_tier": 0,
    }
    assert body["rate"] == {"shipping": "0.008", "returns": "0.004"}
    assert body["computed_at"] is None  # live figures; the worker has stored none yet


def test_the_api_needs_the_secret_key(client, shop):
    assert client.get(PERFORMANCE).status_code == 401
    assert client.get(PERFORMANCE, headers=bearer(shop.keys.publishable_key)).status_code == 403


def test_the_command_refreshes_every_shop_or_one(app, client, shop, new_shop) -> None:
    other = new_shop("Other")
    set_tiers(client, shop, ON_TIME_TIERS)
    with app.app_context():
        deliveries(shop.shop.id, utcnow(), 50)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["performance", "refresh"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"shops": 2}
    with app.app_context():
        assert db.session.get(ShopPerformance, shop.shop.id).shipping_tier == 0
        assert db.session.get(ShopPerformance, other.shop.id).shipping_tier is None
    result = runner.invoke(args=["performance", "refresh", "--shop", other.shop.id])
    assert (result.exit_code, json.loads(result.output)) == (0, {"shops": 1})
    assert runner.invoke(args=["performance", "refresh", "--shop", "shop_nope"]).exit_code != 0


def test_quotes_follow_the_tier_as_deliveries_cross_the_boundary(app, client, shop):
    """End to end: deliveries move the on-time rate, the worker stores the figures, and the next quote's price and
    rate_tier follow (0.8 % at 98 % on time or better, 1.2 % below)."""
    set_tiers(client, shop, ON_TIME_TIERS)
    shop_id, now = shop.shop.id, utcnow()
    cart = {
        "currency": "USD",
        "destination": {"country": "US"},
        "items": [{"sku": "JB-1", "category": "jewelry", "unit_price": 50000, "quantity": 1}],
    }

    def quoted(at):
        Worker(app, clock=lambda: at).run_periodic()
        app.extensions["grant_cache"].clear()  # another process would see it within the cache's 5 seconds
        body = client.post("/api/v1/quotes", json=cart, headers=bearer(shop.keys.publishable_key)).get_json()
        [coverage] = body["coverages"]
        return body["premium"], body["rate_tier"], coverage["rate"]

    assert quoted(now) == (1000, None, "0.02")  # nothing delivered: the plain rate
    with app.app_context():
        deliveries(shop_id, now, 49)
    assert quoted(now + timedelta(minutes=16)) == (1000, None, "0.02")  # 49 delivered: tiers not yet
    with app.app_context():
        deliveries(shop_id, now, 1)
    assert quoted(now + timedelta(minutes=32)) == (400, 0, "0.008")  # 50 of 50 on time
    with app.app_context():
        deliveries(shop_id, now, 2, late=True)
    assert quoted(now + timedelta(minutes=48)) == (600, 1, "0.012")  # 50 of 52: 96.15 %
