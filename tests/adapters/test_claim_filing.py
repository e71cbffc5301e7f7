"""Filing claims with insurers: XCover's XClaim (against a fake shaped like its documentation), Loadsure's
link for filing by hand, the sandbox, and the contract's default for insurers without a claims API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from plugin.insurers.base import ClaimFile, ClaimFiling, ClaimsNotSupportedError, TransientInsurerError
from plugin.insurers.loadsure import LoadsureInsurer
from plugin.insurers.self_insured import SelfInsurer
from plugin.insurers.xcover import XCoverInsurer

CLAIMS = "https://xclaim.test"
PARTNER = "JADE01"
SECRET = "xc-secret-2222-3333"


def filing(**changes) -> ClaimFiling:
    values = dict(
        reference="clm_TEST0001",
        policy_reference="33K6D-WBHLY-INS",
        certificate="33K6D-WBHLY-INS",
        claim_type="damaged",
        amount=12345,
        currency="USD",
        order_id="1001",
        description="Arrived crushed.",
        carrier="UPS",
        tracking_number="1Z999",
        shipped_at=datetime(2026, 11, 21, tzinfo=UTC),
        contact_email="jade@example.com",
        files=(
            ClaimFile("box.jpg", "image/jpeg", b"\xff\xd8\xff jpeg bytes"),
            ClaimFile("label.pdf", "application/pdf", b"%PDF-1.7"),
        ),
    )
    values.update(changes)
    return ClaimFiling(**values)  # type: ignore[arg-type]


def xcover() -> XCoverInsurer:
    return XCoverInsurer(
        base_url="https://xcover.test/xcover",
        partner_code=PARTNER,
        api_key="xc-key-0000-1111",
        api_secret=SECRET,
        claims_base_url=CLAIMS,
    )


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_xclaim_uploads_files_first_then_files_the_claim_on_the_booking(http):
    uploads = http.post(f"{CLAIMS}/partners/{PARTNER}/claims/files", json={"id": "f-uuid"})
    created = http.post(
        f"{CLAIMS}/partners/{PARTNER}/claims/", json={"claimReference": "9YV4Q-EBPPR-CLA", "status": "SUBMITTED"}
    )
    filed = xcover().file_claim(filing(), "claim-recovery:clm_TEST0001")
    assert (filed.status, filed.reference) == ("filed", "9YV4Q-EBPPR-CLA")
    assert uploads.call_count == 2 and created.call_count == 1
    first_upload = json.loads(http.calls[0].request.body)
    assert first_upload["file_name"] == "box.jpg" and base64.b64decode(first_upload["content"]).startswith(b"\xff\xd8")
    claim_request = http.calls[2].request
    body = json.loads(claim_request.body)
    assert body["booking_reference"] == "33K6D-WBHLY-INS" and body["files"] == ["f-uuid", "f-uuid"]
    assert body["claim_amount"] == {"value": "123.45", "currency": "USD"} and body["claim_type"] == "DAMAGE"
    assert claim_request.headers["x-idempotency-key"] == "claim-recovery:clm_TEST0001:claim"
    # A Bearer JWT signed with the partner's secret.
    token = claim_request.headers["Authorization"].removeprefix("Bearer ")
    header, claims, signature = token.split(".")
    expected = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _unb64(signature) == expected
    assert json.loads(_unb64(claims))["sub"] == PARTNER
    assert SECRET not in claim_request.headers["Authorization"]


def test_xclaim_replays_and_outages(http):
    http.post(
        f"{CLAIMS}/partners/{PARTNER}/claims/",
        json={"claimReference": "9YV4Q-EBPPR-CLA", "status": "SUBMITTED"},
        status=409,
    )
    assert xcover().file_claim(filing(files=()), "k").reference == "9YV4Q-EBPPR-CLA"  # the stored answer
    http.replace("POST", f"{CLAIMS}/partners/{PARTNER}/claims/", json={"message": "down"}, status=503)
    with pytest.raises(TransientInsurerError) as caught:
        xcover().file_claim(filing(files=()), "k")
    assert caught.value.answer_lost


@pytest.mark.parametrize(
    ("answer", "status", "amount"),
    [
        ({"status": "IN_REVIEW"}, "in_review", None),
        ({"status": "Action Required"}, "in_review", None),
        ({"status": "PAID", "paid_amount": {"value": "100.50", "currency": "USD"}}, "paid", 10050),
        ({"status": "DECLINED"}, "rejected", None),
    ],
)
def test_xclaim_status_in_our_words(http, answer, status, amount):
    http.get(f"{CLAIMS}/partners/{PARTNER}/claims/9YV4Q-EBPPR-CLA", json=answer)
    found = xcover().claim_status("9YV4Q-EBPPR-CLA")
    assert (found.status, found.amount, found.reference) == (status, amount, "9YV4Q-EBPPR-CLA")


def test_loadsure_keeps_its_file_claim_link_and_hands_it_to_the_merchant(http, parcel):
    base = "https://loadsure.test"
    http.post(f"{base}/api/insureLoad/quote", json={"quoteToken": "tok-1"})
    http.post(
        f"{base}/api/insureLoad/purchaseQuote",
        json={
            "certificateNumber": "LS-1",
            "status": "ACTIVE",
            "premium": 4,
            "fileClaimLink": "https://loadsure.test/claim/LS-1",
        },
    )
    insurer = LoadsureInsurer(base_url=base, api_key="ls_key")
    binding = insurer.bind(parcel, "k")
    assert binding.claim_url == "https://loadsure.test/claim/LS-1"
    filed = insurer.file_claim(filing(certificate="LS-1", claim_url=binding.claim_url), "k")
    assert (filed.status, filed.link, filed.reference) == ("manual", "https://loadsure.test/claim/LS-1", "LS-1")
    assert len(http.calls) == 2  # no claims API is called


def test_insurers_without_a_claims_api_say_so():
    with pytest.raises(ClaimsNotSupportedError):
        SelfInsurer().file_claim(filing(), "k")
