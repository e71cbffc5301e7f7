"""The admin's returns: the list with its claims, the flag form, the blocked shoppers and "lift"."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import AuditEntry, BlockedShopper, Claim, Return, utcnow
from tests.admin_helpers import make_user, post_form, sign_in
from tests.claim_helpers import EMAIL
from tests.conftest import bearer
from tests.return_helpers import enable_returns, make_returns_covered_order, open_return


def test_staff_see_returns_flag_one_and_lift_the_block(app, client, shop):
    make_returns_covered_order(app, client, shop)
    enable_returns(client, shop)
    ret = open_return(client, shop).get_json()
    open_return(client, shop, return_id="R-2", tracking_number="1ZR2")
    staff = make_user(app, shop.shop.id, "staff@jade.example", role="staff")
    sign_in(client, staff)

    page = client.get("/admin/returns")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "R-1" in body and "R-2" in body and f'href="/admin/claims/{ret["claim"]["id"]}"' in body
    found = client.get("/admin/returns?q=1ZR2").get_data(as_text=True)
    assert "R-2" in found and ">R-1<" not in found
    assert client.get("/admin/returns?status=lost").status_code == 400
    chinese = client.get("/admin/returns", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "退货" in chinese

    # The claim page shows a return claim.
    claim_page = client.get(f"/admin/claims/{ret['claim']['id']}")
    assert claim_page.status_code == 200 and "Return shipping" in claim_page.get_data(as_text=True)

    refused = post_form(client, f"/admin/returns/{ret['id']}/flag", {"reason": "lost"}, page="/admin/returns")
    assert refused.status_code == 400
    flagged = post_form(client, f"/admin/returns/{ret['id']}/flag", {"reason": "swapped"}, page="/admin/returns")
    assert flagged.status_code == 303
    with app.app_context():
        claim = db.session.get(Claim, ret["claim"]["id"])
        assert claim is not None and claim.status == "denied"
        assert [row.email for row in db.session.scalars(select(BlockedShopper))] == [EMAIL]
    blocked = client.get("/admin/blocked-shoppers").get_data(as_text=True)
    assert EMAIL in blocked
    lifted = post_form(client, "/admin/blocked-shoppers/lift", {"email": EMAIL}, page="/admin/blocked-shoppers")
    assert lifted.status_code == 303
    again = post_form(client, "/admin/blocked-shoppers/lift", {"email": EMAIL}, page="/admin/blocked-shoppers")
    assert again.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(BlockedShopper)).all() == []
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-2:] == ["return.flagged", "blocked_shopper.lifted"]
    nav = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/returns"' in nav and 'href="/admin/blocked-shoppers"' in nav


def test_a_return_claim_unpaid_past_pay_within_hours_shows_as_overdue(app, client, shop):
    make_returns_covered_order(app, client, shop)
    enable_returns(client, shop, pay_within_hours=24)
    ret = open_return(client, shop).get_json()
    received = client.post(f"/api/v1/returns/{ret['id']}/received", json={}, headers=bearer(shop.keys.secret_key))
    assert received.get_json()["claim"]["status"] == "approved"  # no Stripe key: paid another way, later
    sign_in(client, make_user(app, shop.shop.id, "owner@jade.example"))
    claim_path = f"/admin/claims/{ret['claim']['id']}"
    assert 'id="return-overdue"' not in client.get(claim_path).get_data(as_text=True)
    assert 'data-waiting="overdue_returns"' not in client.get("/admin/").get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Return, ret["id"])
        assert row is not None
        row.received_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    page = client.get(claim_path).get_data(as_text=True)
    assert 'id="return-overdue"' in page and "1ZRETURN1" in page
    assert 'id="overdue"' in client.get("/admin/returns").get_data(as_text=True)
    dashboard = client.get("/admin/").get_data(as_text=True)  # the dashboard's "waiting for you" says so too
    assert 'data-waiting="overdue_returns"' in dashboard and "unpaid 24 hours after receipt" in dashboard
