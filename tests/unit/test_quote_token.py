import base64
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from plugin.domain import quote_token
from plugin.domain.ids import new_id
from plugin.domain.pricing import Destination
from plugin.domain.quote_token import InvalidQuoteTokenError, QuoteClaims

KEY = "server-secret"


def _claims(**changes) -> QuoteClaims:
    values = {
        "shop_id": "shop_" + "x" * 24,
        "currency": "USD",
        "declared_value": 50_000,
        "premium": 1_000,
        "customer_price": 1_000,
        "merchant_contribution": 0,
        "expires_at": datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        "nonce": "abcdefgh",
    }
    values.update(changes)
    return QuoteClaims(**values)


def test_round_trip():
    claims = _claims()
    token = quote_token.sign(claims, KEY)
    assert token.startswith("qt_")
    assert quote_token.verify(token, [KEY]) == claims


def test_worst_case_reference_fits_in_stripe_metadata():
    big = 10**18
    token = quote_token.sign(
        _claims(declared_value=big, premium=2 * big, customer_price=big, merchant_contribution=big), KEY
    )
    assert len(token) <= 500


def test_a_rotated_key_still_verifies_older_quotes():
    token = quote_token.sign(_claims(), "old-key")
    assert quote_token.verify(token, ["new-key", "old-key"]).premium == 1_000
    with pytest.raises(InvalidQuoteTokenError):
        quote_token.verify(token, ["new-key"])


def _tamper(token: str) -> str:
    body, signature = token[3:].split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-3] ^= 1  # somewhere in the amounts
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return f"qt_{forged}.{signature}"


@pytest.mark.parametrize(
    "mangle",
    [
        _tamper,
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.replace("qt_", "xx_"),
        lambda token: token.split(".")[0],
        lambda token: "qt_.",
        lambda token: token + "x" * 500,
        lambda token: "",
    ],
)
def test_tampered_references_are_refused(mangle):
    token = quote_token.sign(_claims(), KEY)
    with pytest.raises(InvalidQuoteTokenError):
        quote_token.verify(mangle(token), [KEY])


def test_expiry():
    claims = _claims()
    assert not claims.is_expired(claims.expires_at - timedelta(seconds=1))
    assert claims.is_expired(claims.expires_at)


# The destination travels inside the reference (format v2); v1 references, issued before, still verify.

LONGEST_REGION = "ZA-KZN"  # six characters: the longest ISO 3166-2 code


def test_the_destination_round_trips():
    claims = _claims(destination=Destination("GB", "GB-LND", "SW1A 1AA"))
    assert quote_token.verify(quote_token.sign(claims, KEY), [KEY]).destination == Destination(
        "GB", "GB-LND", "SW1A 1AA"
    )


@pytest.mark.parametrize(
    "postal_code",
    [
        "\U0001f600" * 32,  # four UTF-8 bytes each: the most a printable character costs
        '"' * 32,  # escaped in JSON
        "\\" * 32,
        "\u2028" * 32,
        "9" * 32,
    ],
)
def test_the_longest_destination_with_the_largest_amounts_fits_in_stripe_metadata(postal_code):
    big = 10**18
    claims = _claims(
        shop_id=new_id("shop"),
        declared_value=big,
        premium=2 * big,
        customer_price=big,
        merchant_contribution=big,
        nonce=quote_token.new_nonce(),
        destination=Destination("ZA", LONGEST_REGION, postal_code),
    )
    token = quote_token.sign(claims, KEY)
    assert len(token) <= quote_token.MAX_LENGTH
    assert quote_token.verify(token, [KEY]) == claims


def _v1_reference(secret: str) -> str:
    """A reference exactly as the format before destinations signed it."""
    payload = [1, "shop_" + "x" * 24, "USD", 50_000, 1_000, 1_000, 0, 1795867200, "abcdefgh"]
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    digest = hmac.digest(quote_token._signing_key(secret), body.encode(), "sha256")
    return f"qt_{body}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def test_a_reference_issued_before_destinations_still_verifies():
    claims = quote_token.verify(_v1_reference(KEY), [KEY])
    assert (claims.declared_value, claims.destination) == (50_000, None)
    assert claims.expires_at == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_unknown_format_version_is_refused():
    payload = [4, "shop_x", "USD", 1, 1, 1, 0, 1795867200, "n", "US", None, None]
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    digest = hmac.digest(quote_token._signing_key(KEY), body.encode(), "sha256")
    token = f"qt_{body}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"
    with pytest.raises(InvalidQuoteTokenError, match="retired"):
        quote_token.verify(token, [KEY])


# Format v3 (binary) carries the coverages, the return cover's part, the tiers and the carrier.

LONGEST_CARRIER = "\U0001f69a" * 25  # 100 bytes of UTF-8: the most a carrier may take


def _bundle(**changes) -> QuoteClaims:
    values = {
        "premium": 1_500,
        "customer_price": 1_300,
        "merchant_contribution": 200,
        "covers_returns": True,
        "returns_premium": 500,
        "returns_customer_price": 400,
        "returns_merchant_contribution": 100,
        "rate_tier": 0,
        "returns_rate_tier": 3,
        "shipping_carrier": "SF Express 顺丰",
        "destination": Destination("CN", "CN-GD", "518000"),
    }
    values.update(changes)
    return _claims(**values)


@pytest.mark.parametrize(
    "claims",
    [
        _bundle(),
        _bundle(covers_shipping=False, rate_tier=None),
        _claims(),
        _claims(shipping_carrier="", destination=Destination("US")),
    ],
)
def test_a_v3_reference_round_trips(claims):
    token = quote_token.sign(claims, KEY)
    raw = base64.urlsafe_b64decode(token[3:].split(".")[0] + "==")
    assert raw[0] == 3
    assert quote_token.verify(token, [KEY]) == claims


@pytest.mark.parametrize("carrier", [LONGEST_CARRIER, "x" * 100, "顺" * 33])
@pytest.mark.parametrize("postal_code", ["\U0001f600" * 32, '"' * 32, "9" * 32])
def test_the_worst_case_bundle_fits_in_stripe_metadata(carrier, postal_code):
    big = 10**18
    claims = _claims(
        shop_id=new_id("shop"),
        declared_value=big,
        premium=4 * big,
        customer_price=2 * big,
        merchant_contribution=2 * big,
        nonce=quote_token.new_nonce(),
        destination=Destination("ZA", LONGEST_REGION, postal_code),
        covers_returns=True,
        returns_premium=2 * big,
        returns_customer_price=big,
        returns_merchant_contribution=big,
        rate_tier=19,
        returns_rate_tier=19,
        shipping_carrier=carrier,
    )
    token = quote_token.sign(claims, KEY)
    assert len(token) <= quote_token.MAX_LENGTH
    assert quote_token.verify(token, [KEY]) == claims


def test_a_v2_reference_still_verifies_as_shipping_only():
    claims = _claims(destination=Destination("GB", "GB-LND", "SW1A 1AA"))
    token = quote_token.sign_v2(claims, KEY)
    assert base64.urlsafe_b64decode(token[3:].split(".")[0] + "==").startswith(b"[2,")
    verified = quote_token.verify(token, [KEY])
    assert verified == claims
    assert (verified.covers_shipping, verified.covers_returns, verified.shipping_carrier) == (True, False, None)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_a_truncated_v3_payload_is_unreadable_not_a_crash(cut):
    body = quote_token._b64(quote_token._v3_payload(_bundle())[:-cut])
    token = f"qt_{body}.{quote_token._signature(body, KEY)[:32]}"
    with pytest.raises(InvalidQuoteTokenError, match="unreadable"):
        quote_token.verify(token, [KEY])


def test_inconsistent_amounts_are_never_signed():
    with pytest.raises(ValueError, match="customer price"):
        quote_token.sign(_claims(customer_price=999), KEY)


def test_a_v3_reference_with_a_full_length_signature_is_refused():
    claims = _bundle()
    body = quote_token.sign(claims, KEY)[3:].split(".")[0]
    token = f"qt_{body}.{quote_token._signature(body, KEY)}"
    with pytest.raises(InvalidQuoteTokenError):
        quote_token.verify(token, [KEY])
