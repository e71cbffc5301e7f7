"""/admin/shipments shows a carrier_excluded policy's flag in words (en + zh) and filters flagged parcels."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.admin_helpers import post_form
from tests.conftest import bearer
from tests.list_helpers import row_ids
from tests.stripe_helpers import protected_order

CHINESE = "承运商不在承保范围"


def _two_parcels(app, shop) -> dict[str, str]:
    """A flagged parcel (USPS, excluded) and a plain one (UPS): their shipment ids."""
    client = app.test_client()
    secret = bearer(shop.keys.secret_key)
    client.patch("/api/v1/settings", json={"eligibility": {"excluded_carriers": ["USPS"]}}, headers=secret)
    ids = {}
    for order, carrier in (("3001", "usps"), ("3002", "UPS")):
        protected_order(client, shop, order_id=order)
        body = {"order_id": order, "shipment_id": f"ful_{order}", "carrier": carrier, "tracking_number": order}
        ids[carrier] = client.post("/api/v1/shipments", json=body, headers=secret).get_json()["id"]
    return ids


def test_the_list_names_the_flag_and_filters_on_it(app, shop, owner_client: FlaskClient) -> None:
    ids = _two_parcels(app, shop)
    page = owner_client.get("/admin/shipments").get_data(as_text=True)
    assert set(row_ids(page)) == {ids["usps"], ids["UPS"]}
    assert page.count('data-flag="carrier_excluded"') == 1 and "Carrier excluded" in page
    flagged = owner_client.get("/admin/shipments?flag=carrier_excluded").get_data(as_text=True)
    assert row_ids(flagged) == [ids["usps"]]
    assert owner_client.get("/admin/shipments?flag=nonsense").status_code == 400
    csv = owner_client.get("/admin/shipments?format=csv&flag=carrier_excluded").get_data(as_text=True)
    assert csv.count("carrier_excluded") == 1 and "policy_flag" in csv


def test_the_parcel_page_explains_the_flag_in_english_and_chinese(app, shop, owner_client: FlaskClient) -> None:
    ids = _two_parcels(app, shop)
    page = owner_client.get(f"/admin/shipments/{ids['usps']}").get_data(as_text=True)
    assert 'id="policy-flag"' in page and "the shop covers this parcel itself" in page
    assert 'id="policy-flag"' not in owner_client.get(f"/admin/shipments/{ids['UPS']}").get_data(as_text=True)
    post_form(owner_client, "/admin/language", {"language": "zh", "next": "/admin/"})
    assert "本店自行承保" in owner_client.get(f"/admin/shipments/{ids['usps']}").get_data(as_text=True)
    assert CHINESE in owner_client.get("/admin/shipments").get_data(as_text=True)


def test_the_dashboard_counts_parcels_the_shop_covers_itself(app, shop, owner_client: FlaskClient) -> None:
    assert 'data-waiting="carrier_excluded"' not in owner_client.get("/admin/").get_data(as_text=True)
    _two_parcels(app, shop)
    page = owner_client.get("/admin/").get_data(as_text=True)
    card = page.split('data-waiting="carrier_excluded"', 1)[1].split("</div>\n  </div>", 1)[0]
    assert "(carrier excluded)" in card and 'href="/admin/shipments?flag=carrier_excluded">1</a>' in card
    chinese = owner_client.get("/admin/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "本店自行承保的在途包裹" in chinese
