"""Quote requests decoded fast (msgspec), with the marshmallow schema as the one canonical validator.

Every checkout page view asks for a quote, so the common case (a well-formed cart) is decoded and checked in
one C pass. Anything the fast path does not accept goes through `QuoteRequestSchema`, which has the last
word: it either accepts the cart or produces the contract's field errors. The fast path never accepts a body
the schema would refuse (tests/api/test_cart_decoding.py checks the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from marshmallow import ValidationError

from plugin import iso_codes
from plugin.domain.pricing import Cart, CartItem, Destination
from plugin.errors import ValidationFailedError
from plugin.schemas import (
    CARRIER_PATTERN,
    MAX_AMOUNT,
    MAX_CARRIER_BYTES,
    MAX_CARRIER_LENGTH,
    MAX_CART_LINES,
    MAX_QUANTITY,
    POSTAL_CODE_PATTERN,
    QuoteRequestSchema,
)
from plugin.validation import flatten_errors, loads_strict

Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]


class _Destination(msgspec.Struct):
    country: str
    region: str | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=32, pattern=POSTAL_CODE_PATTERN)] | None = None


class _Item(msgspec.Struct, frozen=True):
    """A cart line as decoded; it satisfies the domain's CartLine protocol as it is."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    unit_price: Amount
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
    name: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    category: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class _ShippingMethod(msgspec.Struct):
    carrier: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CARRIER_LENGTH, pattern=CARRIER_PATTERN)] | None
    ) = None


class _QuoteRequest(msgspec.Struct):
    currency: str
    destination: _Destination
    items: Annotated[list[_Item], msgspec.Meta(max_length=MAX_CART_LINES)]
    shipping_amount: Amount | None = None
    locale: Annotated[str, msgspec.Meta(max_length=35)] | None = None
    shipping_method: _ShippingMethod | None = None


_decoder = msgspec.json.Decoder(_QuoteRequest)
_schema = QuoteRequestSchema()


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """A validated quote request."""

    cart: Cart
    locale: str | None
    shipping_carrier: str | None = None  # the request's shipping_method.carrier


def _codes_are_valid(request: _QuoteRequest) -> bool:
    destination = request.destination
    if not (iso_codes.is_currency(request.currency) and iso_codes.is_country(destination.country)):
        return False
    region = destination.region
    if region is not None and not (iso_codes.is_region(region) and region.startswith(destination.country + "-")):
        return False
    carrier = request.shipping_method.carrier if request.shipping_method else None
    return carrier is None or len(carrier.encode("utf-8")) <= MAX_CARRIER_BYTES


def _from_fast(request: _QuoteRequest) -> QuoteRequest:
    destination = request.destination
    cart = Cart(
        currency=request.currency,
        destination=Destination(destination.country, destination.region, destination.postal_code),
        items=tuple(request.items),
        shipping_amount=request.shipping_amount,
    )
    method = request.shipping_method
    return QuoteRequest(cart, request.locale, method.carrier if method else None)


def _from_schema(data: dict[str, Any]) -> QuoteRequest:
    destination = data["destination"]
    cart = Cart(
        currency=data["currency"],
        destination=Destination(destination["country"], destination.get("region"), destination.get("postal_code")),
        items=tuple(
            CartItem(item["sku"], item["unit_price"], item["quantity"], item.get("category"), item.get("name"))
            for item in data["items"]
        ),
        shipping_amount=data.get("shipping_amount"),
    )
    method = data.get("shipping_method")
    return QuoteRequest(cart, data.get("locale"), method.get("carrier") if method else None)


def canonical_decode(raw: bytes) -> QuoteRequest:
    """Decode with the marshmallow schema: the contract's errors, or the same result as the fast path."""
    data = loads_strict(raw) if raw.strip() else {}
    try:
        return _from_schema(_schema.load(data))
    except ValidationError as exc:
        raise ValidationFailedError(fields=flatten_errors(exc.messages)) from exc


def decode_quote_request(raw: bytes) -> QuoteRequest:
    """A validated quote request from a raw body, or InvalidJsonError / ValidationFailedError."""
    try:
        request = _decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):  # nesting deeper than msgspec goes
        return canonical_decode(raw)
    if not _codes_are_valid(request):
        return canonical_decode(raw)
    return _from_fast(request)
