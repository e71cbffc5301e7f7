"""The fast quote decoder never accepts what the canonical marshmallow schema refuses, and agrees with it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.api.cart_decoding import _decoder, canonical_decode, decode_quote_request
from plugin.errors import ApiError

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "USD", "usd", "EUR", "US", "CN", "CN-XJ", "US-CA", "HK", "jewelry", "x" * 130]),
)
items = st.fixed_dictionaries(
    {"sku": json_scalars, "unit_price": json_scalars, "quantity": json_scalars},
    optional={"category": json_scalars, "name": json_scalars, "extra": json_scalars},
)
valid_items = st.fixed_dictionaries(
    {
        "sku": st.text(min_size=1, max_size=10),
        "unit_price": st.integers(min_value=0, max_value=10**11),
        "quantity": st.integers(min_value=1, max_value=10_000),
    },
    optional={
        "category": st.one_of(st.none(), st.sampled_from(["jewelry", "virtual"])),
        "name": st.text(max_size=5),
    },
)
# Carriers at and around each limit: 100 characters, 100 bytes of UTF-8, printable.
carriers = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["UPS", "顺丰速运", "x" * 100, "x" * 101, "顺" * 33, "顺" * 34, "\U0001f69a" * 25, "UPS\n", "\x7f"]
    ),
)

requests = st.fixed_dictionaries(
    {
        "currency": st.one_of(json_scalars, st.sampled_from(["USD", "JPY"])),
        "destination": st.one_of(
            json_scalars,
            st.fixed_dictionaries(
                {"country": json_scalars}, optional={"region": json_scalars, "postal_code": json_scalars}
            ),
        ),
        "items": st.one_of(json_scalars, st.lists(st.one_of(items, valid_items), max_size=4)),
    },
    optional={
        "shipping_amount": json_scalars,
        "locale": json_scalars,
        "shipping_method": st.one_of(
            json_scalars, st.fixed_dictionaries({}, optional={"carrier": st.one_of(json_scalars, carriers)})
        ),
    },
)


def plain(request):
    """A decoded request as plain values, whatever classes carry its lines."""
    cart = request.cart
    lines = [(line.sku, line.unit_price, line.quantity, line.category, line.name) for line in cart.items]
    return (cart.currency, cart.destination, lines, cart.shipping_amount, request.locale, request.shipping_carrier)


def outcome(decode, raw: bytes):
    try:
        return ("ok", plain(decode(raw)))
    except ApiError as error:
        return (error.code, error.fields)


valid_requests = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["USD", "JPY", "KWD"]),
        "destination": st.fixed_dictionaries(
            {"country": st.sampled_from(["US", "CN"])},
            optional={
                "region": st.sampled_from(["US-CA", "CN-XJ", None]),
                "postal_code": st.text(max_size=8),
            },
        ),
        "items": st.lists(st.one_of(valid_items, items), max_size=4),
    },
    optional={
        "shipping_amount": st.integers(min_value=-1, max_value=10**11 + 1),
        "locale": st.sampled_from(["zh-CN", None]),
        "shipping_method": st.one_of(st.none(), st.fixed_dictionaries({"carrier": carriers})),
    },
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(requests, valid_requests))
def test_fast_and_canonical_decoders_agree(body):
    raw = json.dumps(body).encode()
    fast, canonical = outcome(decode_quote_request, raw), outcome(canonical_decode, raw)
    assert fast == canonical


@pytest.mark.parametrize(
    "raw",
    [
        b'{"currency":"USD","destination":{"country":"US"},"items":[{"sku":"A","unit_price":1,"quantity":1}]}',
        b'{"currency":"USD","destination":{"country":"US","region":"US-CA"},"items":[]}',
        '{"currency":"USD","destination":{"country":"US"},"items":[],"shipping_method":{"carrier":"顺丰"}}'.encode(),
    ],
)
def test_the_fast_path_takes_well_formed_carts(raw):
    _decoder.decode(raw)  # accepted by msgspec itself, so the schema is not consulted
    assert plain(decode_quote_request(raw)) == plain(canonical_decode(raw))
