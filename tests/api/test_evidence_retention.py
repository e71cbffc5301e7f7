"""Evidence retention: files go `claims.evidence_retention_days` after their claim was decided (packing evidence:
after the parcel shipped, unless a claim on it still needs it); never a file of an undecided claim."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Evidence, EvidenceBlob, Shipment, Shop, utcnow
from plugin.services import evidence_retention
from plugin.services.evidence import store_evidence
from plugin.worker import Worker
from tests.claim_helpers import settings
from tests.conftest import bearer
from tests.erasure_helpers import _file, leave_footprint


def _ago(days: float):
    return utcnow() - timedelta(days=days)


def _parcel(shop_id: str, tag: str, days_old: float) -> list[str]:
    """A parcel with packing evidence and no claim; its storage keys."""
    shipped = _ago(days_old)
    db.session.add(
        Shipment(
            id=f"shp_{tag}",
            shop_id=shop_id,
            shipment_ref=f"ful-{tag}",
            order_id=f"order-{tag}",
            currency="USD",
            shipped_at=shipped,
            last_tracking_at=shipped,
            created_at=shipped,
        )
    )
    db.session.flush()
    rows = store_evidence(shop_id, [_file(f"p-{tag}")], uploaded_by="merchant", shipment_id=f"shp_{tag}")
    db.session.commit()
    return [row.storage_key for row in rows]


def _keys(shop_id: str) -> set[str]:
    return set(db.session.scalars(select(Evidence.storage_key).where(Evidence.shop_id == shop_id)))


def _all(footprint) -> set[str]:
    return {*footprint.shopper_evidence, *footprint.merchant_evidence, *footprint.packing_evidence}


def _world(app, shop_id: str, p: str = "") -> dict[str, set[str]]:
    with app.app_context():
        old_decided = leave_footprint(
            shop_id, f"a{p}@example.com", f"{p}olddec", status="denied", decided_at=_ago(800), shipped_at=_ago(900)
        )
        old_paid = leave_footprint(
            shop_id, f"b{p}@example.com", f"{p}oldpaid", status="paid", decided_at=_ago(731), shipped_at=_ago(900)
        )
        undecided = leave_footprint(
            shop_id, f"c{p}@example.com", f"{p}undec", status="needs_review", shipped_at=_ago(900)
        )
        recent = leave_footprint(
            shop_id, f"d{p}@example.com", f"{p}recent", status="approved", decided_at=_ago(40), shipped_at=_ago(900)
        )
        return {
            "old_decided": _all(old_decided),
            "old_paid": _all(old_paid),
            "undecided": _all(undecided),
            "recent": _all(recent),
            "old_parcel": set(_parcel(shop_id, f"{p}oldparcel", 731)),
            "new_parcel": set(_parcel(shop_id, f"{p}newparcel", 729)),
        }


def test_purge_deletes_only_old_evidence_of_decided_claims_and_old_parcels(app, shop):
    shop_id = shop.shop.id
    files = _world(app, shop_id)
    result = app.test_cli_runner().invoke(args=["evidence", "purge", "--shop", shop_id])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"deleted": 7, "shops": {shop_id: 7}}
    with app.app_context():
        kept = _keys(shop_id)
        gone = files["old_decided"] | files["old_paid"] | files["old_parcel"]
        assert not kept & gone
        assert kept == files["undecided"] | files["recent"] | files["new_parcel"]
        for key in gone:
            assert db.session.get(EvidenceBlob, key) is None
        for key in kept:
            assert db.session.get(EvidenceBlob, key) is not None
    again = app.test_cli_runner().invoke(args=["evidence", "purge"])
    assert json.loads(again.output) == {"deleted": 0, "shops": {}}


def test_the_shops_own_retention_applies_and_other_shops_wait(app, client, new_shop):
    short, default = new_shop(), new_shop("Other Jade")
    settings(client, short, evidence_retention_days=30)
    files_short, files_default = _world(app, short.shop.id, "s"), _world(app, default.shop.id, "d")
    with app.app_context():
        done = evidence_retention.purge(utcnow(), batch_size=2)  # several batches per shop
        assert done == {short.shop.id: 11, default.shop.id: 7}
        assert _keys(short.shop.id) == files_short["undecided"]  # 30 days: only the undecided claim keeps its files
        assert _keys(default.shop.id) == (
            files_default["undecided"] | files_default["recent"] | files_default["new_parcel"]
        )


def test_the_worker_purges_once_per_interval(app, shop):
    files = _world(app, shop.shop.id)
    now = utcnow()
    worker = Worker(app, clock=lambda: now)
    worker.run_periodic()
    with app.app_context():
        assert not _keys(shop.shop.id) & files["old_decided"]
        more = leave_footprint(shop.shop.id, "e@example.com", "later", status="denied", decided_at=_ago(800))
    Worker(app, clock=lambda: now + timedelta(hours=1)).run_periodic()  # another worker, within the interval
    with app.app_context():
        assert _all(more) - set(more.packing_evidence) <= _keys(shop.shop.id)
    Worker(app, clock=lambda: now + evidence_retention.PURGE_INTERVAL).run_periodic()
    with app.app_context():
        assert not _keys(shop.shop.id) & (set(more.shopper_evidence) | set(more.merchant_evidence))


def test_purge_of_an_unknown_shop_fails_clearly(app):
    result = app.test_cli_runner().invoke(args=["evidence", "purge", "--shop", "shop_nope"])
    assert result.exit_code != 0 and "no shop 'shop_nope'" in result.output


def test_retention_is_a_setting_between_30_and_3650_days(app, client, shop):
    headers = bearer(shop.keys.secret_key)
    assert client.get("/api/v1/settings", headers=headers).get_json()["claims"]["evidence_retention_days"] == 730
    for bad in (29, 3651, "730", 730.5, True):
        response = client.patch("/api/v1/settings", json={"claims": {"evidence_retention_days": bad}}, headers=headers)
        assert response.status_code == 422, bad
        assert "evidence_retention_days" in json.dumps(response.get_json()["error"]["fields"])
    settings(client, shop, evidence_retention_days=30)
    with app.app_context():
        assert evidence_retention.retention_days(db.session.get(Shop, shop.shop.id)) == 30
