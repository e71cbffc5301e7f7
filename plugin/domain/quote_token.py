"""Self-verifying quote references: what was quoted, to which shop, until when, signed by the server."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from plugin.domain.pricing import Destination

PREFIX = "qt_"
QUOTE_VALIDITY = timedelta(hours=24)
MAX_LENGTH = 500  # a Stripe metadata value holds at most 500 characters
# v1 carried no destination; v2 appends [country, region, postal_code]. Both verify (v1 reads as no destination).
_FORMAT_VERSION = 2
_V1 = 1
_KEY_CONTEXT = b"shipping-protection quote reference v1"


class InvalidQuoteTokenError(ValueError):
    """The reference is malformed or its signature does not verify."""


@dataclass(frozen=True, slots=True)
class QuoteClaims:
    """What a quote reference vouches for."""

    shop_id: str
    currency: str
    declared_value: int
    premium: int
    customer_price: int
    merchant_contribution: int
    expires_at: datetime
    nonce: str
    destination: Destination | None = None  # None: a reference issued before destinations were carried

    def is_expired(self, at: datetime) -> bool:
        """Whether the quote had lapsed at the given moment."""
        return at >= self.expires_at


def new_nonce() -> str:
    """A value that makes each quote reference unique; it needs no secrecy, the signature protects it."""
    # Not `secrets`: os.urandom costs tens of microseconds on some hosts, on the hottest path we have.
    return f"{random.getrandbits(48):012x}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=8)
def _signing_key(secret: str | bytes) -> bytes:
    # A key of its own, derived from the server secret, so a quote signature is never valid anywhere else.
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, _KEY_CONTEXT, hashlib.sha256).digest()


def _signature(body: str, secret: str | bytes) -> str:
    return _b64(hmac.digest(_signing_key(secret), body.encode("ascii"), "sha256"))  # one-shot: no HMAC object


def _encode(payload: list[object]) -> bytes:
    # Raw UTF-8 rather than \\u escapes: a 32-character postal code of astral characters takes 128 bytes, not 384,
    # so the longest destination the quote schema accepts still fits in 500 characters. `surrogatepass` keeps a
    # lone surrogate (valid in a JSON string) encodable; json.loads reads such bytes back the same way.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def sign(claims: QuoteClaims, secret: str | bytes) -> str:
    """The reference for these claims: `qt_<payload>.<signature>`, at most 500 characters."""
    destination = claims.destination
    payload: list[object] = [
        _FORMAT_VERSION,
        claims.shop_id,
        claims.currency,
        claims.declared_value,
        claims.premium,
        claims.customer_price,
        claims.merchant_contribution,
        int(claims.expires_at.timestamp()),
        claims.nonce,
        destination.country if destination else None,
        destination.region if destination else None,
        destination.postal_code if destination else None,
    ]
    body = _b64(_encode(payload))
    token = f"{PREFIX}{body}.{_signature(body, secret)}"
    if len(token) > MAX_LENGTH:
        raise ValueError("quote reference would exceed 500 characters")
    return token


def verify(token: str, secrets: Sequence[str | bytes]) -> QuoteClaims:
    """The claims of a reference signed with any of the given secrets (newest first), else an error."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or not token.startswith(PREFIX):
        raise InvalidQuoteTokenError("not a quote reference")
    body, _, signature = token[len(PREFIX) :].partition(".")
    if not body or not signature:
        raise InvalidQuoteTokenError("not a quote reference")
    if not any(hmac.compare_digest(_signature(body, secret), signature) for secret in secrets):
        raise InvalidQuoteTokenError("the quote reference's signature does not verify")
    try:
        fields = json.loads(_unb64(body))
        version = fields[0] if isinstance(fields, list) and fields else None
        if version == _V1:
            _, shop_id, currency, declared, premium, price, contribution, expires, nonce = fields
            destination = None
        elif version == _FORMAT_VERSION:
            _, shop_id, currency, declared, premium, price, contribution, expires, nonce, country, region, postal = (
                fields
            )
            destination = Destination(country, region, postal) if country else None
    except (ValueError, TypeError) as exc:  # signed by us, so only a bug or a retired format lands here
        raise InvalidQuoteTokenError("unreadable quote reference") from exc
    if version not in (_V1, _FORMAT_VERSION):
        raise InvalidQuoteTokenError("retired quote reference format")
    return QuoteClaims(
        shop_id=shop_id,
        currency=currency,
        declared_value=declared,
        premium=premium,
        customer_price=price,
        merchant_contribution=contribution,
        expires_at=datetime.fromtimestamp(expires, UTC),
        nonce=nonce,
        destination=destination,
    )
