"""XCover (Cover Genius) parcel cover: HTTP-signature auth, quote then booking, idempotency keys.

A repeat with the same `x-idempotency-key` and body answers 409 with the stored response: a success.
423 (the first request still running), 429 and 5xx are retried later; a package with a failed quote
inside is refused as a whole.

The destination goes as `customer_country` / `customer_region` (documented) and, on the parcel itself, as
`destination_country`, `destination_region` and `destination_postal_code`: XCover's field-level schema for parcel
policies is per partner and not public, so those names live in `_destination_fields` alone, to adjust in one place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from decimal import Decimal
from email.utils import formatdate
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

import requests

from plugin.domain.money import parse_major_units
from plugin.insurers.base import (
    Binding,
    Cancellation,
    CancelReason,
    ClaimFiling,
    FiledClaim,
    Insurer,
    InsurerRefusedError,
    Parcel,
    TransientInsurerError,
)
from plugin.insurers.http import HttpAnswer, HttpPipeline
from plugin.insurers.xclaim import DEFAULT_CLAIMS_BASE_URL, XClaimClient
from plugin.iso_codes import currency_exponent

POLICY_TYPE = "parcel_insurance"
_CONFIRMED = {"CONFIRMED"}
_REPLAY = 409
# Parcels recorded before destinations were carried (no quote destination, none from the store) keep what
# every parcel was sent as until then.
LEGACY_COUNTRY = "US"


def _destination_fields(parcel: Parcel) -> dict[str, str]:
    """The parcel's destination on the quote request's item; only what is known."""
    fields = {
        "destination_country": parcel.destination_country,
        "destination_region": parcel.destination_region,
        "destination_postal_code": parcel.destination_postal_code,
    }
    return {name: value for name, value in fields.items() if value}


def _message(body: Any) -> str | None:
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("detail")
        errors = body.get("errors")
        if isinstance(errors, Mapping) and errors:
            fields = "; ".join(f"{field}: {text}" for field, text in errors.items())
            return f"{message or 'validation error'} ({fields})"
        return str(message) if message else None
    return None


class XCoverInsurer(Insurer):
    """Quote (`POST quotes/`), then book (`POST bookings/{id}/`), each under its own idempotency key."""

    name = "xcover"

    def __init__(
        self,
        *,
        base_url: str,
        partner_code: str,
        api_key: str,
        api_secret: str,
        allow_private: bool = False,
        session: requests.Session | None = None,
        claims_base_url: str = DEFAULT_CLAIMS_BASE_URL,
    ) -> None:
        self._claims = XClaimClient(
            base_url=claims_base_url,
            partner_code=partner_code,
            api_key=api_key,
            api_secret=api_secret,
            allow_private=allow_private,
            session=session,
        )
        self._partner = partner_code
        self._api_key = api_key
        self._api_secret = api_secret
        self._http = HttpPipeline(
            base_url,
            secrets=[api_key, api_secret],
            allow_private=allow_private,
            session=session,
        )

    def _signed(self, idempotency_key: str | None = None) -> Callable[[str, str], dict[str, str]]:
        """Headers signing each request (HTTP Signatures over the request target and the date)."""

        def headers(method: str, url: str) -> dict[str, str]:
            date = formatdate(usegmt=True)
            target = f"{method.lower()} {urlsplit(url).path}"
            signed = f"(request-target): {target}\ndate: {date}"
            digest = hmac.new(self._api_secret.encode(), signed.encode(), hashlib.sha512).digest()
            signature = url_quote(base64.b64encode(digest).decode(), safe="")
            values = {
                "Date": date,
                "X-Api-Key": self._api_key,
                "Authorization": (
                    f'Signature keyId="{self._api_key}",algorithm="hmac-sha512",'
                    f'headers="(request-target) date",signature="{signature}"'
                ),
            }
            if idempotency_key:
                values["x-idempotency-key"] = idempotency_key
            return values

        return headers

    def _ok(self, answer: HttpAnswer, what: str) -> Mapping[str, Any]:
        if answer.status == _REPLAY and isinstance(answer.body, Mapping) and answer.body.get("id"):
            return answer.body  # the stored response of the first request with this key
        if not 200 <= answer.status < 300:
            raise self._http.fail(answer, what, _message(answer.body))
        if not isinstance(answer.body, Mapping):
            raise TransientInsurerError(f"{what}: answer without a body", status=answer.status)
        return answer.body

    def _path(self, tail: str) -> str:
        return f"partners/{self._partner}/{tail}"

    def _minor(self, value: Any, currency: str) -> int:
        return parse_major_units(str(Decimal(str(value))), currency_exponent(currency))

    def _quote_request(self, parcel: Parcel) -> dict[str, Any]:
        exponent = currency_exponent(parcel.currency)
        body: dict[str, Any] = {
            "request": [
                {
                    "policy_type": POLICY_TYPE,
                    "policy_type_version": 1,
                    "policy_start_date": parcel.shipped_at.isoformat(),
                    "parcel_value": str(Decimal(parcel.sum_insured).scaleb(-exponent)),
                    "carrier": parcel.carrier,
                    "tracking_number": parcel.tracking_number,
                    "reference": parcel.reference,
                    **_destination_fields(parcel),
                }
            ],
            "currency": parcel.currency,
            "customer_country": parcel.destination_country or LEGACY_COUNTRY,
            "customer_language": "en",
        }
        if parcel.destination_region:
            body["customer_region"] = parcel.destination_region
        return body

    def bind(self, parcel: Parcel, idempotency_key: str) -> Binding:
        package = self._ok(
            self._http.send(
                "POST",
                self._path("quotes/"),
                json_body=self._quote_request(parcel),
                headers=self._signed(f"{idempotency_key}:quote"),
            ),
            "quote",
        )
        quotes = package.get("quotes")
        if not isinstance(quotes, list) or not quotes or any(not isinstance(q, Mapping) for q in quotes):
            raise InsurerRefusedError("quote: the package came back partly failed (a quote is missing)")
        package_id = str(package["id"])
        booking = self._ok(
            self._http.send(
                "POST",
                self._path(f"bookings/{package_id}/"),
                json_body={
                    "quotes": [{"id": q["id"]} for q in quotes],
                    "policyholder": {
                        "first_name": parcel.shop_name[:50],
                        "last_name": "Store",
                        "email": parcel.customer_email or "",
                        "country": parcel.destination_country or LEGACY_COUNTRY,
                    },
                },
                headers=self._signed(f"{idempotency_key}:book"),
            ),
            "booking",
        )
        status = str(booking.get("status") or "")
        if status == "PENDING_PAYMENT":
            booking = self._ok(
                self._http.send("PUT", self._path(f"bookings/{package_id}/confirm"), headers=self._signed()),
                "confirm",
            )
            status = str(booking.get("status") or "")
        if status not in _CONFIRMED:
            raise InsurerRefusedError(f"booking: status {status or 'missing'}")
        total = booking.get("total_price", package.get("total_price", 0))
        return Binding(
            certificate=package_id,
            provider_reference=package_id,
            sum_insured=parcel.sum_insured,
            cost=self._minor(total, parcel.currency),
            currency=parcel.currency,
            certificate_url=booking.get("pds_url") if isinstance(booking.get("pds_url"), str) else None,
        )

    def cancel(self, binding_reference: str, reason: CancelReason) -> Cancellation:
        preview = self._ok(
            self._http.send(
                "POST",
                self._path(f"bookings/{binding_reference}/cancel"),
                json_body={"preview": True},
                headers=self._signed(),
            ),
            "cancel preview",
        )
        cancellation_id = preview.get("cancellation_id")
        if not cancellation_id:
            return Cancellation(cancelled=False, message="the insurer offered no cancellation")
        self._ok(
            self._http.send(
                "POST",
                self._path(f"bookings/{binding_reference}/confirm_cancellation/{cancellation_id}/"),
                headers=self._signed(),
            ),
            "cancel confirmation",
        )
        refund = preview.get("total_refund")
        return Cancellation(cancelled=True, message=None if refund is None else f"refund {refund}")

    def file_claim(self, filing: ClaimFiling, idempotency_key: str) -> FiledClaim:
        """Through XClaim (plugin.insurers.xclaim), on the booking's `…-INS` reference."""
        return self._claims.file(filing, idempotency_key)

    def claim_status(self, reference: str) -> FiledClaim:
        return self._claims.status(reference)
