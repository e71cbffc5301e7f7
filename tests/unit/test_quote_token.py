from datetime import UTC, datetime, timedelta

import pytest

from plugin.domain import quote_token
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
        _claims(declared_value=big, premium=big, customer_price=big, merchant_contribution=big), KEY
    )
    assert len(token) <= 500


def test_a_rotated_key_still_verifies_older_quotes():
    token = quote_token.sign(_claims(), "old-key")
    assert quote_token.verify(token, ["new-key", "old-key"]).premium == 1_000
    with pytest.raises(InvalidQuoteTokenError):
        quote_token.verify(token, ["new-key"])


def _tamper(token: str) -> str:
    body, signature = token[3:].split(".")
    import base64
    import json

    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields[5] = 1  # customer_price
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
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
