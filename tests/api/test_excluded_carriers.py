"""eligibility.excluded_carriers: a covered parcel of an excluded carrier is self-insured and flagged, never
silently uninsured; other carriers and uncovered orders are as before."""

from __future__ import annotations

import pytest

from plugin.services.shipments import carrier_excluded
from tests.api.test_platform_webhooks import ORDER, fixture, send, shipments
from tests.api.test_worker import worker
from tests.conftest import bearer
from tests.stripe_helpers import protected_order


def exclude(client, shop, carriers: list[str]) -> None:
    response = client.patch(
        "/api/v1/settings",
        json={"eligibility": {"excluded_carriers": carriers}},
        headers=bearer(shop.keys.secret_key),
    )
    assert response.status_code == 200, response.get_json()


def ship(client, shop, carrier: str, **body):
    payload = {"order_id": "1001", "shipment_id": "ful_1", "carrier": carrier, "tracking_number": "1Z999", **body}
    response = client.post("/api/v1/shipments", json=payload, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 202, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("carrier", ["USPS", "usps", "  Usps ", "USPS\t"])
def test_an_excluded_carrier_is_self_insured_and_flagged(client, shop, carrier):
    exclude(client, shop, [" usps", "Yun Express"])
    protected_order(client, shop)
    shipment = ship(client, shop, carrier)
    policy = shipment["policy"]
    assert (policy["provider"], policy["flag"], policy["status"]) == ("self_insured", "carrier_excluded", "pending")
    assert policy["sum_insured"] == 50000 and shipment["uninsured_reason"] is None
    # The policy API answers the flag too.
    again = client.get(f"/api/v1/policies/{policy['id']}", headers=bearer(shop.keys.secret_key)).get_json()
    assert (again["provider"], again["flag"]) == ("self_insured", "carrier_excluded")


def test_other_carriers_keep_the_insurer_and_no_flag(client, shop):
    exclude(client, shop, ["USPS"])
    protected_order(client, shop)
    policy = ship(client, shop, "UPS")["policy"]
    assert (policy["provider"], policy["flag"]) == ("sandbox", None)


def test_the_exclusion_beats_the_provider_rules(client, shop):
    client.patch(
        "/api/v1/settings",
        json={"insurer": {"rules": [{"max_value": None, "provider": "sandbox"}]}},
        headers=bearer(shop.keys.secret_key),
    )
    exclude(client, shop, ["DHL"])
    protected_order(client, shop)
    assert ship(client, shop, "dhl")["policy"]["provider"] == "self_insured"


def test_an_uncovered_order_still_gets_no_policy(client, shop):
    exclude(client, shop, ["USPS"])
    shipment = ship(client, shop, "USPS", order_id="no-protection")
    assert shipment["policy"] is None and shipment["uninsured_reason"] == "not_protected"


def test_a_later_carrier_change_does_not_re_evaluate(client, shop):
    exclude(client, shop, ["USPS"])
    protected_order(client, shop)
    first = ship(client, shop, "UPS")
    again = ship(client, shop, "USPS")  # the same shipment id: answered as recorded
    assert again["policy"]["id"] == first["policy"]["id"]
    assert (again["policy"]["provider"], again["policy"]["flag"]) == ("sandbox", None)


def test_a_platform_fulfillment_of_an_excluded_carrier_is_flagged(client, shop):
    exclude(client, shop, ["ups"])  # the sample fulfillment's tracking_company is "UPS"
    protected_order(client, shop, order_id=ORDER, unit_price=50000)
    response = send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    assert response.status_code == 200
    [shipment] = shipments(client, shop)
    assert (shipment["policy"]["provider"], shipment["policy"]["flag"]) == ("self_insured", "carrier_excluded")


def test_the_carrier_comparison():
    assert carrier_excluded(" FedEx ", ["fedex"]) and carrier_excluded("fedex", [" FEDEX "])
    assert not carrier_excluded("FedEx Ground", ["fedex"])
    assert not carrier_excluded(None, ["fedex"]) and not carrier_excluded("  ", ["", " "])


def test_the_worker_binds_it_with_the_merchants_own_cover(app, client, shop):
    exclude(client, shop, ["USPS"])
    protected_order(client, shop)
    pending = ship(client, shop, "USPS")["policy"]
    assert worker(app).drain().bound == 1
    bound = client.get(f"/api/v1/policies/{pending['id']}", headers=bearer(shop.keys.secret_key)).get_json()
    assert (bound["status"], bound["provider"], bound["flag"]) == ("bound", "self_insured", "carrier_excluded")
    assert bound["certificate"].startswith("SELF-") and bound["cost"] == 0
