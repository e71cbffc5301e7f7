"""Loadsure freight cargo cover (bought through the freight forwarder): quote token, then purchase.

Loadsure documents no idempotency key: our policy id travels as `freightId`, and after an unclear outcome
the worker looks the certificate up by it before buying again (`find`). The look-up path is not in the
public documentation we have; it is configurable (`lookup_path`) for the merchant's account.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pycountry
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
)
from plugin.insurers.http import HttpAnswer, HttpPipeline
from plugin.iso_codes import currency_exponent

# Parcels recorded before destinations were carried keep what every parcel was sent as until then.
LEGACY_COUNTRY = "US"
# Loadsure's cancellation codes (CANASD, CANNLN, CANPIE, CANCHP, CANVAL, CANREQ, CANCOP, CANREP, CANOTH): every
# cancellation the plugin makes is one the assured asked for, so each of our reasons is CANREQ.
CANCEL_CODES: dict[CancelReason, str] = {
    CancelReason.REFUNDED: "CANREQ",
    CancelReason.ITEMS_REFUNDED: "CANREQ",
    CancelReason.ORDER_CANCELLED: "CANREQ",
    CancelReason.SHIPMENT_CANCELLED: "CANREQ",
    CancelReason.REQUESTED: "CANREQ",
}
DEFAULT_LOOKUP_PATH = "/api/insureLoad/certificates"


def _message(body: Any) -> str | None:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(
                str(error.get("message", error)) if isinstance(error, Mapping) else str(error) for error in errors
            )
        if body.get("message"):
            return str(body["message"])
    return None


@functools.cache
def alpha3(alpha2: str) -> str:
    """The ISO 3166-1 alpha-3 code Loadsure's addresses take (GB → GBR, CN → CHN)."""
    country = pycountry.countries.get(alpha_2=alpha2)
    if country is None:
        raise InsurerRefusedError(f"unknown destination country {alpha2!r}")
    return str(country.alpha_3)


def destination_address(parcel: Parcel) -> dict[str, str]:
    """Where the parcel goes, as a Loadsure address: state (the ISO 3166-2 subdivision part), postal, country."""
    address = {"country": alpha3(parcel.destination_country or LEGACY_COUNTRY)}
    if parcel.destination_region:
        address["state"] = parcel.destination_region.partition("-")[2]
    if parcel.destination_postal_code:
        address["postal"] = parcel.destination_postal_code
    return address


class LoadsureInsurer(Insurer):
    """`POST /api/insureLoad/quote` → quoteToken → `POST /api/insureLoad/purchaseQuote` → certificate."""

    name = "loadsure"
    idempotent_bind = False

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        allow_private: bool = False,
        session: requests.Session | None = None,
        lookup_path: str = DEFAULT_LOOKUP_PATH,
    ) -> None:
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._lookup_path = lookup_path
        self._http = HttpPipeline(base_url, secrets=[api_key], allow_private=allow_private, session=session)

    def _ok(self, answer: HttpAnswer, what: str) -> Mapping[str, Any]:
        if not 200 <= answer.status < 300:
            raise self._http.fail(answer, what, _message(answer.body))
        body = answer.body if isinstance(answer.body, Mapping) else {}
        if body.get("success") is False or (body.get("errors") and not body.get("certificateNumber")):
            # A 2xx can still carry a refusal: check the body as well as the status.
            raise InsurerRefusedError(self._http.scrub(f"{what}: {_message(body) or 'refused'}"), status=answer.status)
        return body

    def _binding(self, body: Mapping[str, Any], parcel: Parcel) -> Binding:
        exponent = currency_exponent(parcel.currency)
        premium = Decimal(str(body.get("premium") or 0)) + Decimal(str(body.get("serviceFee") or 0))
        return Binding(
            certificate=str(body["certificateNumber"]),
            provider_reference=str(body["certificateNumber"]),
            sum_insured=parcel.sum_insured,
            cost=parse_major_units(str(premium.quantize(Decimal(1).scaleb(-exponent))), exponent),
            currency=parcel.currency,
            certificate_url=body.get("certificateLink") if isinstance(body.get("certificateLink"), str) else None,
            claim_url=body.get("fileClaimLink") if isinstance(body.get("fileClaimLink"), str) else None,
        )

    def bind(self, parcel: Parcel, idempotency_key: str) -> Binding:
        exponent = currency_exponent(parcel.currency)
        address = destination_address(parcel)
        date = parcel.shipped_at.date().isoformat()
        quote = self._ok(
            self._http.send(
                "POST",
                "/api/insureLoad/quote",
                json_body={
                    "user": {
                        "id": parcel.shop_id,
                        "email": parcel.customer_email or "",
                        "name": parcel.shop_name,
                    },
                    "assured": {
                        "name": parcel.shop_name,
                        "email": parcel.customer_email or "",
                        # The shopper is the consignee: the cover is theirs, at the delivery address.
                        "address": address,
                    },
                    "shipment": {
                        "version": "2",
                        "freightId": parcel.reference,
                        "pickupDate": date,
                        "cargo": {
                            "cargoValue": {
                                "currency": parcel.currency,
                                "value": str(Decimal(parcel.sum_insured).scaleb(-exponent)),
                            },
                            "commodity": [],
                            "fullDescriptionOfCargo": ", ".join(item.name or item.sku for item in parcel.items)
                            or f"Order {parcel.order_id}",
                        },
                        "carriers": [{"mode": "ROAD", "name": parcel.carrier or "unknown"}],
                        "stops": [
                            {"stopType": "PICKUP", "stopNumber": 1, "date": date},
                            {"stopType": "DELIVERY", "stopNumber": 2, "address": address},
                        ],
                    },
                },
                headers=self._headers,
            ),
            "quote",
        )
        token = quote.get("quoteToken")
        if not token:
            raise InsurerRefusedError("quote: no quoteToken in the answer")
        purchase = self._ok(
            self._http.send(
                "POST",
                "/api/insureLoad/purchaseQuote",
                json_body={"quoteToken": token},
                headers=self._headers,
            ),
            "purchase",
        )
        if not purchase.get("certificateNumber"):
            raise InsurerRefusedError("purchase: no certificateNumber in the answer")
        return self._binding(purchase, parcel)

    def find(self, parcel: Parcel) -> Binding | None:
        answer = self._http.send(
            "GET", self._lookup_path, params={"freightId": parcel.reference}, headers=self._headers
        )
        if answer.status == 404:
            return None
        body = self._ok(answer, "look-up")
        listed = body.get("certificates")
        certificates: list[Any] = listed if isinstance(listed, list) else [body]
        active = [c for c in certificates if isinstance(c, Mapping) and c.get("certificateNumber")
                  and c.get("status", "ACTIVE") == "ACTIVE"]  # fmt: skip
        return self._binding(active[0], parcel) if active else None

    def cancel(self, binding_reference: str, reason: CancelReason) -> Cancellation:
        code = CANCEL_CODES.get(reason, "CANOTH")
        body = self._ok(
            self._http.send(
                "POST",
                "/api/insureLoad/cancelCertificate",
                json_body={"certificateNumber": binding_reference, "cancellationReason": code},
                headers=self._headers,
            ),
            "cancel",
        )
        return Cancellation(cancelled=str(body.get("status", "")).upper() == "CANCELLED")

    def file_claim(self, filing: ClaimFiling, idempotency_key: str) -> FiledClaim:
        """Loadsure has no claims API: the merchant files through the policy's `fileClaimLink` portal."""
        return FiledClaim(status="manual", reference=filing.certificate, link=filing.claim_url)
