"""/admin/shipments: failed policies first, filters, search, pages across the segments, CSV, the retry button,
and one parcel with its tracking events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.admin import shipments_pages
from plugin.extensions import db
from plugin.models import AuditEntry, Job, Policy, TrackingEvent
from tests.admin_helpers import csrf_token
from tests.list_helpers import add_job, add_shipment, at, csv_rows, row_ids, walk_pages


def _ids(client, query: str = "") -> list[str]:
    answer = client.get("/admin/shipments" + query)
    assert answer.status_code == 200, answer.status_code
    return row_ids(answer.get_data(as_text=True))


@pytest.fixture()
def parcels(app: Flask, shop, new_shop) -> dict[str, tuple[str, str | None]]:
    """Parcels of every policy status, recorded at times that a plain newest-first order would mix up."""
    sid = shop.shop.id
    made = {
        "bound_new": add_shipment(app, sid, "2001", at(90), tracking_number="1ZNEW"),
        "failed_old": add_shipment(app, sid, "2002", at(10), policy_status="failed", last_error="refused: too dear"),
        "pending": add_shipment(app, sid, "2003", at(80), policy_status="pending", next_attempt_at=at(81)),
        "failed_new": add_shipment(app, sid, "2004", at(50), policy_status="failed", carrier="DHL"),
        "uninsured": add_shipment(app, sid, "2005", at(70), policy_status=None, carrier="DHL"),
        "retrying": add_shipment(app, sid, "2006", at(20), policy_status="retrying", last_error="timeout"),
        "cancelled": add_shipment(app, sid, "2007", at(60), policy_status="cancelled"),
        "bound_old": add_shipment(app, sid, "2008", at(0), carrier="DHL", tracking_number="1ZOLD"),
    }
    made["theirs"] = add_shipment(app, new_shop("Other House").shop.id, "2001", at(95), policy_status="failed")
    return made


ORDER = ["failed_new", "failed_old", "retrying", "pending", "bound_new", "uninsured", "cancelled", "bound_old"]


def test_failed_first_then_retrying_then_pending_then_the_rest_newest_first(owner_client, parcels):
    assert _ids(owner_client) == [parcels[name][0] for name in ORDER]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 7, 8])
def test_pages_run_across_the_segments_without_losing_or_repeating_a_parcel(owner_client, parcels, limit):
    pages = walk_pages(owner_client, f"/admin/shipments?limit={limit}")
    assert [row for page in pages for row in page] == [parcels[name][0] for name in ORDER]


def test_equal_times_within_a_segment(app, owner_client, shop):
    sid = shop.shop.id
    failed = [add_shipment(app, sid, f"f{n}", at(5), policy_status="failed")[0] for n in range(4)]
    rest = [add_shipment(app, sid, f"b{n}", at(5))[0] for n in range(4)]
    whole = _ids(owner_client)
    assert sorted(whole[:4]) == sorted(failed) and sorted(whole[4:]) == sorted(rest)
    for limit in (1, 3, 5):
        flat = [row for page in walk_pages(owner_client, f"/admin/shipments?limit={limit}") for row in page]
        assert flat == whole, limit


def test_filters(owner_client, parcels):
    ids = {name: parcels[name][0] for name in parcels}
    assert _ids(owner_client, "?status=failed") == [ids["failed_new"], ids["failed_old"]]
    assert _ids(owner_client, "?status=bound") == [ids["bound_new"], ids["bound_old"]]
    assert _ids(owner_client, "?carrier=DHL") == [ids["failed_new"], ids["uninsured"], ids["bound_old"]]
    assert _ids(owner_client, "?carrier=DHL&status=failed") == [ids["failed_new"]]
    # at(n) is 2026-11-20 12:00 plus n minutes: everything is on the 20th.
    assert _ids(owner_client, "?from=2026-11-20&to=2026-11-20") == [ids[name] for name in ORDER]
    assert _ids(owner_client, "?from=2026-11-21") == []
    assert _ids(owner_client, "?to=2026-11-19&status=failed") == []


def test_search_by_order_tracking_number_or_id(owner_client, parcels):
    ids = {name: parcels[name][0] for name in parcels}
    assert _ids(owner_client, "?q=2004") == [ids["failed_new"]]
    assert _ids(owner_client, "?q=1ZOLD") == [ids["bound_old"]]
    assert _ids(owner_client, f"?q={ids['pending']}") == [ids["pending"]]
    assert _ids(owner_client, f"?q={parcels['retrying'][1]}") == [ids["retrying"]]
    assert _ids(owner_client, "?q=2001") == [ids["bound_new"]]  # not the other shop's order 2001
    assert _ids(owner_client, f"?q={parcels['theirs'][0]}") == []


def test_csv(app, owner_client, shop):
    sid = shop.shop.id
    failed, failed_policy = add_shipment(
        app, sid, "3001", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), policy_status="failed", last_error="=refused"
    )
    bound, bound_policy = add_shipment(
        app, sid, "3002", datetime(2026, 11, 21, 9, 0, tzinfo=UTC), tracking_number="1Z3002", cost=1234
    )
    bare, _none = add_shipment(app, sid, "3003", datetime(2026, 11, 19, 9, 0, tzinfo=UTC), policy_status=None)
    with app.app_context():
        refs = {s: db.session.get(shipments_pages.Shipment, s).shipment_ref for s in (failed, bound, bare)}
        tracking = db.session.get(shipments_pages.Shipment, failed).tracking_number
        bare_tracking = db.session.get(shipments_pages.Shipment, bare).tracking_number
    rows = csv_rows(owner_client.get("/admin/shipments?format=csv"))
    assert rows == [
        list(shipments_pages.CSV_HEADER),
        [failed, refs[failed], "3001", "2026-11-20T09:00:00Z", "2026-11-20T09:00:00Z", "UPS", tracking, "shipped",
         "", "", failed_policy, "sandbox", "failed", "USD", "50000", "500.00", "", "", "", "8", "'=refused", "", ""],
        [bound, refs[bound], "3002", "2026-11-21T09:00:00Z", "2026-11-21T09:00:00Z", "UPS", "1Z3002", "shipped",
         "", "", bound_policy, "sandbox", "bound", "USD", "50000", "500.00", "1234", "12.34", "CERT-3002", "0", "",
         "", ""],
        [bare, refs[bare], "3003", "2026-11-19T09:00:00Z", "2026-11-19T09:00:00Z", "UPS", bare_tracking, "shipped",
         "", "not_protected", "", "", "", "USD", "", "", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    assert [row[0] for row in csv_rows(owner_client.get("/admin/shipments?format=csv&status=bound"))[1:]] == [bound]


@pytest.mark.parametrize(
    "query", ["?status=lost", "?from=2026-02-30", "?limit=500", "?after=k1.e30", "?carrier=%00", "?q=" + "9" * 201]
)
def test_bad_filters_are_a_400_page(owner_client, parcels, query):
    answer = owner_client.get("/admin/shipments" + query)
    assert answer.status_code == 400
    assert "This list cannot be shown" in answer.get_data(as_text=True)


def _failed_policy_with_its_job(app: Flask, shop_id: str) -> tuple[str, str, str]:
    shipment_id, policy_id = add_shipment(app, shop_id, "4001", at(0), policy_status="failed", last_error="refused")
    assert policy_id is not None
    job_id = add_job(app, shop_id, "bind_policy", policy_id, at(0), key=f"sp-{policy_id}-0")
    return shipment_id, policy_id, job_id


@pytest.mark.parametrize("who", ["owner_client", "staff_client"])
def test_owners_and_staff_retry_a_failed_policy(app, shop, who, request):
    client = request.getfixturevalue(who)
    shipment_id, policy_id, _old_job = _failed_policy_with_its_job(app, shop.shop.id)
    page = client.get("/admin/shipments")
    assert f'action="/admin/policies/{policy_id}/retry"' in page.get_data(as_text=True)
    answer = client.post(
        f"/admin/policies/{policy_id}/retry",
        data={"csrf_token": csrf_token(client, "/admin/shipments"), "next": "/admin/shipments?status=failed"},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/shipments?status=failed"
    with app.app_context():
        policy = db.session.get(Policy, policy_id)
        assert (policy.status, policy.attempts, policy.key_generation) == ("retrying", 0, 1)
        jobs = {job.idempotency_key: job for job in db.session.scalars(select(Job).where(Job.subject == policy_id))}
        assert jobs[f"sp-{policy_id}-0"].status == "cancelled"  # superseded: no longer a failed job to retry
        assert jobs[f"sp-{policy_id}-1"].status == "queued"
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "policy.retried")).all()
        assert entry.target == policy_id and entry.before["status"] == "failed"
        assert entry.actor.endswith(("owner@jade.example", "staff@jade.example"))
    followed = client.get("/admin/shipments?status=retrying")
    assert "will be bought again now" in followed.get_data(as_text=True)
    assert row_ids(followed.get_data(as_text=True)) == [shipment_id]


def test_a_retry_without_the_csrf_token_is_refused_and_changes_nothing(app, owner_client, shop):
    _shipment, policy_id, _job = _failed_policy_with_its_job(app, shop.shop.id)
    assert owner_client.post(f"/admin/policies/{policy_id}/retry").status_code == 400
    assert owner_client.post(f"/admin/policies/{policy_id}/retry", data={"csrf_token": "forged"}).status_code == 400
    with app.app_context():
        assert db.session.get(Policy, policy_id).status == "failed"
        assert db.session.scalars(select(AuditEntry)).all() == []


def test_a_bound_policy_is_not_retried(app, owner_client, shop):
    _shipment, policy_id = add_shipment(app, shop.shop.id, "4002", at(0))
    answer = owner_client.post(
        f"/admin/policies/{policy_id}/retry", data={"csrf_token": csrf_token(owner_client, "/admin/shipments")}
    )
    assert answer.status_code == 409 and "this one is Bound" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Policy, policy_id).status == "bound"
        assert db.session.scalars(select(AuditEntry)).all() == [] and db.session.scalars(select(Job)).all() == []


def test_another_shops_parcel_and_policy_are_404(app, owner_client, parcels):
    shipment_id, policy_id = parcels["theirs"]
    token = csrf_token(owner_client, "/admin/shipments")
    assert owner_client.get(f"/admin/shipments/{shipment_id}").status_code == 404
    assert owner_client.get(f"/admin/policies/{policy_id}").status_code == 404
    assert owner_client.post(f"/admin/policies/{policy_id}/retry", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(Policy, policy_id).status == "failed"


def test_the_page_of_a_parcel_shows_its_tracking_and_its_policy(app, owner_client, shop, parcels):
    shipment_id, policy_id = parcels["failed_old"]
    with app.app_context():
        db.session.add_all(
            [
                TrackingEvent(shipment_id=shipment_id, status="in_transit", location="Memphis, TN", occurred_at=at(100)),
                TrackingEvent(shipment_id=shipment_id, status="delivered", message="Left at the door", occurred_at=at(200)),
            ]
        )  # fmt: skip
        db.session.commit()
    assert owner_client.get(f"/admin/policies/{policy_id}").headers["Location"] == f"/admin/shipments/{shipment_id}"
    text = owner_client.get(f"/admin/shipments/{shipment_id}").get_data(as_text=True)
    assert text.index("Left at the door") < text.index("Memphis, TN")  # newest first
    assert "refused: too dear" in text and f'action="/admin/policies/{policy_id}/retry"' in text
    bound_page = owner_client.get(f"/admin/shipments/{parcels['bound_new'][0]}").get_data(as_text=True)
    assert "CERT-2001" in bound_page and "/retry" not in bound_page
