"""The XCover adapter against responses shaped as XCover's documentation describes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import unquote

import pytest
import requests

from plugin.insurers.base import (
    CancelReason,
    InsurerAuthError,
    InsurerConfigError,
    InsurerRefusedError,
    TransientInsurerError,
)
from plugin.insurers.xcover import XCoverInsurer

BASE = "https://xcover.test/xcover"
QUOTES = f"{BASE}/partners/P1/quotes/"
PACKAGE = "33K6D-WBHLY-INS"
BOOKING = f"{BASE}/partners/P1/bookings/{PACKAGE}/"
API_KEY, API_SECRET = "xc_key_0123456789", "xc_secret_abcdefghij"

QUOTE_BODY = {"id": PACKAGE, "status": "RECEIVED", "total_price": 12.5, "currency": "USD",
              "quotes": [{"id": "q-1", "price": 12.5, "policy": {"policy_name": "Parcel"}, "tax": {}, "benefits": []}]}  # fmt: skip
BOOKED = {"id": PACKAGE, "status": "CONFIRMED", "total_price": 12.5, "currency": "USD", "quotes": QUOTE_BODY["quotes"]}


def insurer(**kwargs) -> XCoverInsurer:
    # No DNS here: `responses` replaces HTTPAdapter.send, so the pinned transport's resolver is never reached.
    return XCoverInsurer(base_url=BASE, partner_code="P1", api_key=API_KEY, api_secret=API_SECRET, **kwargs)


def test_quote_then_book_with_signed_idempotent_requests(http, parcel):
    http.post(QUOTES, json=QUOTE_BODY, status=201)
    http.post(BOOKING, json=BOOKED, status=200)
    binding = insurer().bind(parcel, "sp-pol_1-0")
    assert (binding.certificate, binding.cost, binding.currency, binding.sum_insured) == (PACKAGE, 1250, "USD", 50_000)
    quote_call, book_call = http.calls
    assert quote_call.request.headers["x-idempotency-key"] == "sp-pol_1-0:quote"
    assert book_call.request.headers["x-idempotency-key"] == "sp-pol_1-0:book"
    assert json.loads(book_call.request.body)["quotes"] == [{"id": "q-1"}]
    headers = quote_call.request.headers
    assert headers["X-Api-Key"] == API_KEY
    signature = re.search(r'signature="([^"]+)"', headers["Authorization"]).group(1)
    assert (
        'keyId="xc_key_0123456789"' in headers["Authorization"]
        and 'algorithm="hmac-sha512"' in headers["Authorization"]
    )
    signed = f"(request-target): post /xcover/partners/P1/quotes/\ndate: {headers['Date']}"
    expected = base64.b64encode(hmac.new(API_SECRET.encode(), signed.encode(), hashlib.sha512).digest()).decode()
    assert unquote(signature) == expected


def test_a_replayed_request_answers_409_with_the_stored_response(http, parcel):
    http.post(QUOTES, json=QUOTE_BODY, status=409)
    http.post(BOOKING, json=BOOKED, status=409)
    assert insurer().bind(parcel, "sp-pol_1-0").certificate == PACKAGE


def test_pending_payment_is_confirmed(http, parcel):
    http.post(QUOTES, json=QUOTE_BODY, status=201)
    http.post(BOOKING, json={**BOOKED, "status": "PENDING_PAYMENT"})
    http.put(f"{BASE}/partners/P1/bookings/{PACKAGE}/confirm", json=BOOKED)
    assert insurer().bind(parcel, "k").certificate == PACKAGE


@pytest.mark.parametrize("status", [423, 429, 500, 502, 503, 504])
def test_busy_or_broken_insurer_is_transient(http, parcel, status):
    http.post(QUOTES, json={"message": "try later"}, status=status)
    with pytest.raises(TransientInsurerError) as error:
        insurer().bind(parcel, "k")
    assert error.value.retryable and error.value.status == status


@pytest.mark.parametrize("exception", [requests.Timeout("read timed out"), requests.ConnectionError("reset by peer")])
def test_timeouts_and_resets_are_transient(http, parcel, exception):
    http.post(QUOTES, body=exception)
    with pytest.raises(TransientInsurerError):
        insurer().bind(parcel, "k")


def test_unauthorised_is_not_retried_and_never_shows_the_credentials(http, parcel):
    http.post(QUOTES, json={"message": f"Invalid signature for key {API_KEY} / {API_SECRET}"}, status=401)
    with pytest.raises(InsurerAuthError) as error:
        insurer().bind(parcel, "k")
    assert not error.value.retryable
    assert API_KEY not in error.value.message and API_SECRET not in error.value.message
    assert "[redacted]" in error.value.message


def test_validation_errors_name_the_fields(http, parcel):
    http.post(
        QUOTES,
        json={
            "type": "validation_error",
            "message": "Invalid request",
            "errors": {"customer_country": "Not supported"},
        },
        status=422,
    )
    with pytest.raises(InsurerRefusedError) as error:
        insurer().bind(parcel, "k")
    assert "customer_country: Not supported" in error.value.message


def test_a_partly_failed_package_is_refused(http, parcel):
    http.post(QUOTES, json={**QUOTE_BODY, "quotes": [QUOTE_BODY["quotes"][0], None]}, status=201)
    with pytest.raises(InsurerRefusedError, match="partly failed"):
        insurer().bind(parcel, "k")


def test_a_2xx_that_is_not_a_confirmation_is_refused(http, parcel):
    http.post(QUOTES, json=QUOTE_BODY, status=201)
    http.post(BOOKING, json={**BOOKED, "status": "FAILED"})
    with pytest.raises(InsurerRefusedError, match="FAILED"):
        insurer().bind(parcel, "k")


def test_an_unreadable_success_is_an_unclear_outcome(http, parcel):
    http.post(QUOTES, body="<html>gateway</html>", status=200)
    with pytest.raises(TransientInsurerError):
        insurer().bind(parcel, "k")


def test_cancel_previews_then_confirms(http):
    http.post(f"{BASE}/partners/P1/bookings/{PACKAGE}/cancel", json={"cancellation_id": "c-9", "total_refund": 12.5})
    http.post(f"{BASE}/partners/P1/bookings/{PACKAGE}/confirm_cancellation/c-9/", json={"status": "CANCELLED"})
    outcome = insurer().cancel(PACKAGE, CancelReason.REQUESTED)
    assert outcome.cancelled
    assert json.loads(http.calls[0].request.body) == {"preview": True}


def test_private_hosts_are_refused_at_call_time(http, parcel):
    private = XCoverInsurer(
        base_url="https://10.0.0.5/xcover", partner_code="P1", api_key=API_KEY, api_secret=API_SECRET
    )
    with pytest.raises(InsurerConfigError):
        private.bind(parcel, "k")
    assert len(http.calls) == 0
