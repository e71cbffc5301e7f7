"""What each insurer is told about where a parcel goes: a British and a Chinese parcel, as the insurer receives them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from plugin.insurers.base import InsurerRefusedError
from plugin.insurers.loadsure import LoadsureInsurer
from plugin.insurers.xcover import XCoverInsurer

XCOVER = "https://xcover.test/xcover"
LOADSURE = "https://loadsure.test"
PACKAGE = {"id": "PKG-1", "status": "RECEIVED", "total_price": 2.5, "quotes": [{"id": "q-1", "price": 2.5}]}

DESTINATIONS = {
    "GB": ("GB", "GB-LND", "SW1A 1AA"),
    "CN": ("CN", "CN-GD", "518000"),
}


@pytest.fixture(params=sorted(DESTINATIONS))
def abroad(request, parcel):
    country, region, postal_code = DESTINATIONS[request.param]
    return dataclasses.replace(
        parcel, destination_country=country, destination_region=region, destination_postal_code=postal_code
    )


def xcover_bind(http, parcel) -> tuple[dict, dict]:
    http.post(f"{XCOVER}/partners/P1/quotes/", json=PACKAGE, status=201)
    http.post(f"{XCOVER}/partners/P1/bookings/PKG-1/", json={**PACKAGE, "status": "CONFIRMED"})
    insurer = XCoverInsurer(base_url=XCOVER, partner_code="P1", api_key="k", api_secret="s")
    insurer.bind(parcel, "sp-pol-0")
    quote, booking = (json.loads(call.request.body) for call in http.calls)
    return quote, booking


def loadsure_bind(http, parcel) -> dict:
    http.post(f"{LOADSURE}/api/insureLoad/quote", json={"quoteToken": "tok-1", "expiresIn": 600})
    http.post(f"{LOADSURE}/api/insureLoad/purchaseQuote", json={"certificateNumber": "LS-1", "status": "ACTIVE"})
    LoadsureInsurer(base_url=LOADSURE, api_key="ls").bind(parcel, "k")
    return json.loads(http.calls[0].request.body)


def test_xcover_is_told_the_customers_country_and_region_and_the_parcels_destination(http, abroad):
    quote, booking = xcover_bind(http, abroad)
    country, region, postal_code = DESTINATIONS[abroad.destination_country]
    assert (quote["customer_country"], quote["customer_region"]) == (country, region)
    [item] = quote["request"]
    assert (item["destination_country"], item["destination_region"], item["destination_postal_code"]) == (
        country,
        region,
        postal_code,
    )
    assert booking["policyholder"]["country"] == country


def test_loadsure_delivers_to_the_destination_in_alpha3(http, abroad):
    quote = loadsure_bind(http, abroad)
    alpha3 = {"GB": "GBR", "CN": "CHN"}[abroad.destination_country]
    state = {"GB": "LND", "CN": "GD"}[abroad.destination_country]
    expected = {"country": alpha3, "state": state, "postal": abroad.destination_postal_code}
    [delivery] = [stop for stop in quote["shipment"]["stops"] if stop["stopType"] == "DELIVERY"]
    assert delivery["address"] == expected
    assert quote["assured"]["address"] == expected  # the shopper, the consignee, at the delivery address


def test_loadsure_takes_any_iso_country_not_a_short_list(http, parcel):
    quote = loadsure_bind(http, dataclasses.replace(parcel, destination_country="BR", destination_region=None))
    assert quote["shipment"]["stops"][1]["address"] == {"country": "BRA"}


def test_a_parcel_without_a_region_tells_xcover_no_region(http, parcel):
    quote, _ = xcover_bind(http, dataclasses.replace(parcel, destination_country="JP"))
    assert quote["customer_country"] == "JP" and "customer_region" not in quote
    assert "destination_region" not in quote["request"][0]


def test_an_unknown_country_is_refused_before_loadsure_is_called(http, parcel):
    with pytest.raises(InsurerRefusedError, match="XK"):
        LoadsureInsurer(base_url=LOADSURE, api_key="ls").bind(
            dataclasses.replace(parcel, destination_country="XK"), "k"
        )
    assert len(http.calls) == 0
