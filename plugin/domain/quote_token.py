"""Self-verifying quote references: what was quoted, to which shop, until when, signed by the server."""

from __future__ import annotations

import base64
import binascii
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
# v1 carried no destination; v2 appends [country, region, postal_code]; both are JSON lists and still verify (as a
# shipping-only quote; v1 reads as no destination). v3 is binary (first byte 3), so that the coverages, the return
# cover's amounts, the tiers and the carrier fit beside the longest destination: varint numbers, length-prefixed
# UTF-8 strings.
_FORMAT_VERSION = 2
_V1 = 1
_V3 = 3
_SHIPPING, _RETURNS = 1, 2  # the v3 coverage flags
# v3 also keeps 24 of the HMAC's 32 bytes (192 bits, 32 characters), and leaves out the customer prices (each is its
# premium less the merchant's contribution): so the worst case fits.
_V3_SIGNATURE_LENGTH = 32
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
    # What the bundle covers (v1/v2 references: the parcel only); the amounts above are the sums over it.
    covers_shipping: bool = True
    covers_returns: bool = False
    returns_premium: int = 0
    returns_customer_price: int = 0
    returns_merchant_contribution: int = 0
    rate_tier: int | None = None  # the shipping coverage's performance tier
    returns_rate_tier: int | None = None
    shipping_carrier: str | None = None  # the quote request's shipping_method.carrier

    def is_expired(self, at: datetime) -> bool:
        """Whether the quote had lapsed at the given moment."""
        return at >= self.expires_at


def new_nonce() -> str:
    """A value that makes each quote reference unique; it needs no secrecy, the signature protects it."""
    # Not `secrets`: os.urandom costs tens of microseconds on some hosts, on the hottest path we have.
    return f"{random.getrandbits(48):012x}"


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    # base64.urlsafe_b64encode, without its two Python-level hops: this runs twice per quote.
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=").decode("ascii")


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


_ONE_BYTE = tuple(bytes([number]) for number in range(0x80))  # the varints of 0..127: most fields of a quote


def _varint(number: int) -> bytes:
    if 0 <= number < 0x80:
        return _ONE_BYTE[number]
    if number < 0:
        raise ValueError("quote amounts are never negative")
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _text(value: str | None) -> bytes:
    """None as 0; else its UTF-8 length + 1, then the bytes."""
    if value is None:
        return b"\x00"
    raw = value.encode("utf-8", "surrogatepass")
    return _varint(len(raw) + 1) + raw


@functools.lru_cache(maxsize=4096)
def _shop_and_currency(shop_id: str, currency: str) -> bytes:
    # The same two fields open every reference a shop issues.
    return _text(shop_id) + _text(currency)


def _tier(tier: int | None) -> bytes:
    return _varint(0 if tier is None else tier + 1)


def _v3_payload(claims: QuoteClaims) -> bytes:
    destination = claims.destination
    flags = (_SHIPPING if claims.covers_shipping else 0) | (_RETURNS if claims.covers_returns else 0)
    out = bytearray((_V3, flags))
    out += _shop_and_currency(claims.shop_id, claims.currency)
    out += _varint(claims.declared_value)
    out += _varint(claims.premium)
    out += _varint(claims.merchant_contribution)
    out += _varint(claims.returns_premium)
    out += _varint(claims.returns_merchant_contribution)
    out += _varint(int(claims.expires_at.timestamp()))
    out += _text(claims.nonce)
    if destination is None:
        out += b"\x00\x00\x00"
    else:
        out += _text(destination.country)
        out += _text(destination.region)
        out += _text(destination.postal_code)
    out += _tier(claims.rate_tier)
    out += _tier(claims.returns_rate_tier)
    out += _text(claims.shipping_carrier)
    return bytes(out)


class _Reader:
    """Reads a v3 payload field by field; IndexError / UnicodeDecodeError on a short or garbled one."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def number(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def text(self) -> str | None:
        length = self.number()
        if length == 0:
            return None
        start, self.pos = self.pos, self.pos + length - 1
        if self.pos > len(self.data):
            raise IndexError("short quote reference")
        return self.data[start : self.pos].decode("utf-8", "surrogatepass")

    def tier(self) -> int | None:
        value = self.number()
        return None if value == 0 else value - 1


def _read_v3(data: bytes) -> QuoteClaims:
    reader = _Reader(data)
    reader.byte()  # the version
    flags = reader.byte()
    shop_id, currency = reader.text(), reader.text()
    declared, premium, contribution, r_premium, r_contribution, expires = (reader.number() for _ in range(6))
    nonce, country, region, postal = reader.text(), reader.text(), reader.text(), reader.text()
    rate_tier, returns_rate_tier, carrier = reader.tier(), reader.tier(), reader.text()
    if reader.pos != len(data) or shop_id is None or currency is None or nonce is None:
        raise ValueError("malformed quote reference")
    return QuoteClaims(
        shop_id=shop_id,
        currency=currency,
        declared_value=declared,
        premium=premium,
        customer_price=premium - contribution,
        merchant_contribution=contribution,
        expires_at=datetime.fromtimestamp(expires, UTC),
        nonce=nonce,
        destination=Destination(country, region, postal) if country else None,
        covers_shipping=bool(flags & _SHIPPING),
        covers_returns=bool(flags & _RETURNS),
        returns_premium=r_premium,
        returns_customer_price=r_premium - r_contribution,
        returns_merchant_contribution=r_contribution,
        rate_tier=rate_tier,
        returns_rate_tier=returns_rate_tier,
        shipping_carrier=carrier,
    )


def sign(claims: QuoteClaims, secret: str | bytes) -> str:
    """The reference for these claims: `qt_<payload>.<signature>` (format v3), at most 500 characters."""
    if (claims.customer_price, claims.returns_customer_price) != (
        claims.premium - claims.merchant_contribution,
        claims.returns_premium - claims.returns_merchant_contribution,
    ):
        raise ValueError("a customer price is its premium less the merchant's contribution")
    body = _b64(_v3_payload(claims))
    token = f"{PREFIX}{body}.{_signature(body, secret)[:_V3_SIGNATURE_LENGTH]}"
    if len(token) > MAX_LENGTH:
        raise ValueError("quote reference would exceed 500 characters")
    return token


def sign_v2(claims: QuoteClaims, secret: str | bytes) -> str:
    """A reference in the retired JSON format v2 (shipping only): kept so tests can show v2 still verifies."""
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
    return f"{PREFIX}{body}.{_signature(body, secret)}"


def _is_v3(body: str) -> bool:
    try:
        return _unb64(body[:4])[:1] == bytes([_V3])
    except ValueError:
        return False


def verify(token: str, secrets: Sequence[str | bytes]) -> QuoteClaims:
    """The claims of a reference signed with any of the given secrets (newest first), else an error."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or not token.startswith(PREFIX):
        raise InvalidQuoteTokenError("not a quote reference")
    body, _, signature = token[len(PREFIX) :].partition(".")
    if not body or not signature:
        raise InvalidQuoteTokenError("not a quote reference")
    length = _V3_SIGNATURE_LENGTH if _is_v3(body) else None  # the version byte is signed too
    if not any(hmac.compare_digest(_signature(body, secret)[:length], signature) for secret in secrets):
        raise InvalidQuoteTokenError("the quote reference's signature does not verify")
    try:
        raw = _unb64(body)
        if raw[:1] == bytes([_V3]):
            return _read_v3(raw)
        fields = json.loads(raw)
        version = fields[0] if isinstance(fields, list) and fields else None
        if version == _V1:
            _, shop_id, currency, declared, premium, price, contribution, expires, nonce = fields
            destination = None
        elif version == _FORMAT_VERSION:
            _, shop_id, currency, declared, premium, price, contribution, expires, nonce, country, region, postal = (
                fields
            )
            destination = Destination(country, region, postal) if country else None
    except (ValueError, TypeError, IndexError) as exc:  # signed by us, so only a bug or a retired format lands here
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
