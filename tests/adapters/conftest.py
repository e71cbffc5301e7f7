from datetime import UTC, datetime

import pytest
import responses

from plugin.insurers.base import Parcel, ParcelItem


@pytest.fixture()
def parcel() -> Parcel:
    return Parcel(
        reference="pol_TESTREFERENCE0000000001",
        shop_id="shop_test",
        shop_name="Jade House",
        order_id="1001",
        shipment_ref="ful_1",
        carrier="UPS",
        tracking_number="1Z999",
        sum_insured=50_000,
        currency="USD",
        shipped_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        destination_country="US",
        customer_email="jade@example.com",
        items=(ParcelItem("JB-1", 1, 50_000, "Jade bangle"),),
        premium_share=1000,
    )


@pytest.fixture()
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
