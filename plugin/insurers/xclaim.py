"""XCover's claims API (XClaim): upload the files, then create the claim on the booking; ask its status.

Built against a documented fake, not yet checked with XCover: the public documentation gives the host
(`https://api.xclaim.xcover.com/partners/{partnerCode}/claims`, staging `staging.api.xclaim.xcover.com`),
Bearer JWT authentication, files uploaded first (ids come back), a claim created against the booking's `…-INS`
reference and answered with a `claimReference` like `9YV4Q-EBPPR-CLA`. The field-level schemas are per partner
and not public, so every request and answer shape lives in this module alone, to adjust in one place:
`_jwt`, `_file_body`, `_claim_body`, `_status_of` and `STATUS_MAP`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests

from plugin.insurers.base import ClaimFile, ClaimFiling, FiledClaim, InsurerRefusedError, TransientInsurerError
from plugin.insurers.http import HttpAnswer, HttpPipeline
from plugin.iso_codes import currency_exponent

DEFAULT_CLAIMS_BASE_URL = "https://api.xclaim.xcover.com"
STAGING_CLAIMS_BASE_URL = "https://staging.api.xclaim.xcover.com"
TOKEN_SECONDS = 300
_REPLAY = 409  # as on XCover's booking API: the stored answer of the first request with this key

# XClaim's statuses and status categories, in our words; anything unknown is still being looked at.
STATUS_MAP = {
    "SUBMITTED": "filed",
    "RECEIVED": "filed",
    "OPEN": "filed",
    "IN_REVIEW": "in_review",
    "ACTION_REQUIRED": "in_review",
    "ASSESSING": "in_review",
    "APPROVED": "approved",
    "ACCEPTED": "approved",
    "PAID": "paid",
    "SETTLED": "paid",
    "CLOSED_PAID": "paid",
    "DECLINED": "rejected",
    "REJECTED": "rejected",
    "DENIED": "rejected",
    "WITHDRAWN": "rejected",
}
# Our claim types as XClaim's incident types (its list comes from GET claim types, per partner).
CLAIM_TYPES = {
    "lost": "LOST",
    "stolen": "THEFT",
    "damaged": "DAMAGE",
    "delayed": "DELAY",
    "missing_items": "MISSING_ITEMS",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(api_key: str, api_secret: str, partner_code: str, now: float) -> str:
    """An HS256 JWT signed with the partner's API secret (issuer: the API key), valid for five minutes."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": api_key, "sub": partner_code, "iat": int(now), "exp": int(now) + TOKEN_SECONDS}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(api_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _file_body(file: ClaimFile) -> dict[str, Any]:
    return {
        "file_name": file.name,
        "content_type": file.content_type,
        "content": base64.b64encode(file.data).decode(),
    }


def _claim_body(filing: ClaimFiling, file_ids: list[str]) -> dict[str, Any]:
    exponent = currency_exponent(filing.currency)
    return {
        "booking_reference": filing.policy_reference,
        "partner_claim_reference": filing.reference,
        "claim_type": CLAIM_TYPES.get(filing.claim_type, filing.claim_type.upper()),
        "description": filing.description or "",
        "claim_amount": {"value": str(Decimal(filing.amount).scaleb(-exponent)), "currency": filing.currency},
        "order_reference": filing.order_id,
        "carrier": filing.carrier,
        "tracking_number": filing.tracking_number,
        "shipped_date": filing.shipped_at.date().isoformat() if filing.shipped_at else None,
        "contact_email": filing.contact_email,
        "files": file_ids,
    }


def _minor(value: Any, currency: str) -> int | None:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return int(amount.scaleb(currency_exponent(currency)).to_integral_value())


def _status_of(body: Mapping[str, Any], currency: str | None = None) -> FiledClaim:
    raw = str(body.get("status") or body.get("status_category") or "").upper().replace(" ", "_")
    reference = body.get("claimReference") or body.get("claim_reference")
    paid = body.get("paid_amount") or body.get("approved_amount")
    amount = None
    if isinstance(paid, Mapping) and paid.get("value") is not None:
        amount = _minor(paid["value"], str(paid.get("currency") or currency or "USD"))
    return FiledClaim(
        status=STATUS_MAP.get(raw, "in_review"),
        reference=str(reference) if reference else None,
        amount=amount,
        link=body.get("claim_url") if isinstance(body.get("claim_url"), str) else None,
    )


class XClaimClient:
    """Files and follows claims on XCover bookings."""

    def __init__(
        self,
        *,
        base_url: str,
        partner_code: str,
        api_key: str,
        api_secret: str,
        allow_private: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        self._partner = partner_code
        self._api_key = api_key
        self._api_secret = api_secret
        self._http = HttpPipeline(base_url, secrets=[api_key, api_secret], allow_private=allow_private, session=session)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        token = _jwt(self._api_key, self._api_secret, self._partner, time.time())
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key:
            headers["x-idempotency-key"] = idempotency_key
        return headers

    def _ok(self, answer: HttpAnswer, what: str) -> Mapping[str, Any]:
        replayed = answer.status == _REPLAY and isinstance(answer.body, Mapping)
        if not replayed and not 200 <= answer.status < 300:
            message = answer.body.get("message") if isinstance(answer.body, Mapping) else None
            raise self._http.fail(answer, what, str(message) if message else None)
        if not isinstance(answer.body, Mapping):
            raise TransientInsurerError(f"{what}: answer without a body", status=answer.status)
        return answer.body

    def _path(self, tail: str = "") -> str:
        return f"partners/{self._partner}/claims{tail}"

    def file(self, filing: ClaimFiling, idempotency_key: str) -> FiledClaim:
        """Upload each file (its own key), then create the claim linked to the booking."""
        file_ids: list[str] = []
        for index, file in enumerate(filing.files):
            uploaded = self._ok(
                self._http.send(
                    "POST",
                    self._path("/files"),
                    json_body=_file_body(file),
                    headers=self._headers(f"{idempotency_key}:file:{index}"),
                ),
                "claim file upload",
            )
            file_id = uploaded.get("id") or uploaded.get("uuid")
            if not file_id:
                raise InsurerRefusedError("claim file upload: no file id in the answer")
            file_ids.append(str(file_id))
        created = self._ok(
            self._http.send(
                "POST",
                self._path("/"),
                json_body=_claim_body(filing, file_ids),
                headers=self._headers(f"{idempotency_key}:claim"),
            ),
            "claim",
        )
        filed = _status_of(created, filing.currency)
        if not filed.reference:
            raise InsurerRefusedError("claim: no claimReference in the answer")
        return filed

    def status(self, reference: str) -> FiledClaim:
        """The claim as XClaim reports it now."""
        body = self._ok(self._http.send("GET", self._path(f"/{reference}"), headers=self._headers()), "claim status")
        found = _status_of(body)
        return FiledClaim(found.status, found.reference or reference, found.amount, found.link)
