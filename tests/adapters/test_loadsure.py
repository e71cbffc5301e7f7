"""The Loadsure adapter against responses shaped as the open-source clients describe them."""

from __future__ import annotations

import json

import pytest

from plugin.insurers.base import CancelReason, InsurerRefusedError, TransientInsurerError
from plugin.insurers.loadsure import LoadsureInsurer

BASE = "https://loadsure.test"
PURCHASED = {"certificateNumber": "LS-000123", "status": "ACTIVE", "limit": 500, "deductible": 100,
             "premium": 4.25, "serviceFee": 0.75, "tax": 0, "currency": "USD",
             "certificateLink": "https://loadsure.test/c/LS-000123"}  # fmt: skip


def insurer() -> LoadsureInsurer:
    return LoadsureInsurer(base_url=BASE, api_key="ls_secret_key_42")


def test_quote_token_then_purchase(http, parcel):
    http.post(f"{BASE}/api/insureLoad/quote", json={"quoteToken": "tok-1", "expiresIn": 600,
              "insuranceProduct": {"premium": 4.25, "currency": "USD"}})  # fmt: skip
    http.post(f"{BASE}/api/insureLoad/purchaseQuote", json=PURCHASED)
    binding = insurer().bind(parcel, "ignored: no idempotency key at Loadsure")
    assert (binding.certificate, binding.cost, binding.certificate_url) == (
        "LS-000123",
        500,
        PURCHASED["certificateLink"],
    )
    quote = json.loads(http.calls[0].request.body)
    assert quote["shipment"]["freightId"] == parcel.reference  # our natural key on their side
    assert quote["shipment"]["cargo"]["cargoValue"] == {"currency": "USD", "value": "500.00"}
    assert quote["assured"]["address"]["country"] == "USA"
    assert http.calls[0].request.headers["Authorization"] == "Bearer ls_secret_key_42"
    assert json.loads(http.calls[1].request.body) == {"quoteToken": "tok-1"}


def test_a_2xx_carrying_errors_is_refused(http, parcel):
    http.post(
        f"{BASE}/api/insureLoad/quote", json={"success": False, "errors": [{"message": "Commodity excluded: jewelry"}]}
    )
    with pytest.raises(InsurerRefusedError, match="Commodity excluded"):
        insurer().bind(parcel, "k")


def test_non_2xx_errors(http, parcel):
    http.post(f"{BASE}/api/insureLoad/quote", json={"errors": [{"message": "boom"}]}, status=503)
    with pytest.raises(TransientInsurerError):
        insurer().bind(parcel, "k")


def test_find_by_our_reference(http, parcel):
    http.get(f"{BASE}/api/insureLoad/certificates", json={"certificates": [PURCHASED]})
    found = insurer().find(parcel)
    assert found is not None and found.certificate == "LS-000123"
    assert f"freightId={parcel.reference}" in http.calls[0].request.url


def test_find_nothing(http, parcel):
    http.get(f"{BASE}/api/insureLoad/certificates", status=404, json={"errors": [{"message": "not found"}]})
    assert insurer().find(parcel) is None


def test_cancel_sends_loadsures_code_for_our_reason(http):
    http.post(
        f"{BASE}/api/insureLoad/cancelCertificate", json={"certificateNumber": "LS-000123", "status": "CANCELLED"}
    )
    assert insurer().cancel("LS-000123", CancelReason.ORDER_CANCELLED).cancelled
    assert json.loads(http.calls[0].request.body)["cancellationReason"] == "CANREQ"
