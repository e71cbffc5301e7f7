"""Shopify-format webhooks: verify the HMAC of the raw body, translate topics into shipment facts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plugin import iso_codes
from plugin.domain.claims import address_key
from plugin.domain.money import parse_major_units
from plugin.domain.pricing import Destination
from plugin.domain.untrusted_text import fit_id, fit_text, scrub
from plugin.schemas import MAX_AMOUNT, MAX_QUANTITY, POSTAL_CODE_PATTERN
from plugin.services.shipments import ShipmentItem, ShipmentRequest


class InvalidHmacError(ValueError):
    """The delivery is not signed with the shop's platform webhook secret."""


def verify_hmac(raw: bytes, header: str | None, secret: str) -> None:
    """`X-Shopify-Hmac-Sha256` must be the base64 HMAC-SHA256 of the exact body bytes."""
    if not header:
        raise InvalidHmacError("missing X-Shopify-Hmac-Sha256")
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, header.strip()):
        raise InvalidHmacError("the HMAC does not match")


@dataclass(frozen=True, slots=True)
class TrackingUpdate:
    """Carrier progress for a shipment the store knows by `shipment_ref`."""

    shipment_ref: str
    status: str
    occurred_at: datetime
    message: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentChanged:
    """A fulfillment changed: new tracking details, or cancelled."""

    shipment_ref: str
    order_id: str | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    cancelled: bool
    shipment_status: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order was cancelled."""

    order_id: str


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    """Items of the order were refunded: (sku, quantity) pairs, and whether the refund covers the whole order."""

    order_id: str
    refunded: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ReturnNoted:
    """The platform told of a return (returns/request, returns/approve, returns/update): its order, and the
    return's tracking when the payload carries it (then the return opens, as POST /api/v1/returns would)."""

    return_ref: str
    order_id: str | None
    carrier: str | None = None
    tracking_number: str | None = None
    label_cost: int | None = None


@dataclass(frozen=True, slots=True)
class ReturnDelivered:
    """The return came back to the merchant (returns/close, returns/process): its label is paid back."""

    return_ref: str


PlatformFact = (
    ShipmentRequest | ShipmentChanged | TrackingUpdate | OrderCancelled | OrderRefunded | ReturnNoted | ReturnDelivered
)

# Shopify's returns topics: those that name a return and its order, those that mean the parcel came back.
RETURN_TOPICS = frozenset({"returns/request", "returns/approve", "returns/update"})
RETURN_DELIVERED_TOPICS = frozenset({"returns/close", "returns/process"})


# What the shipment columns hold; a signed payload's longer values are kept readable, cut with an ellipsis.
ID_LIMIT, CARRIER_LIMIT, TRACKING_NUMBER_LIMIT, URL_LIMIT = 255, 100, 255, 2048
STATUS_LIMIT, MESSAGE_LIMIT, LOCATION_LIMIT, SKU_LIMIT, NAME_LIMIT = 40, 500, 255, 255, 300


def _text(value: Any, limit: int | None = None) -> str | None:
    """Shopify ids arrive as integers: compare them as their decimal strings. Text is made storable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = scrub(value.strip())
    else:
        return None
    if not text:
        return None
    return fit_text(text, limit) if limit is not None else text


def _ref(value: Any) -> str | None:
    """An id (order, fulfillment): fitted so that a long one never becomes another's id."""
    text = _text(value)
    return fit_id(text, ID_LIMIT) if text else None


def _time(value: Any, default: datetime) -> datetime:
    """An ISO 8601 time in UTC; anything unreadable or out of range (year 0, 99999) is `default`."""
    if not isinstance(value, str):
        return default
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return default


def _first(payload: Mapping[str, Any], single: str, plural: str, limit: int) -> str | None:
    value = _text(payload.get(single), limit)
    if value:
        return value
    many = payload.get(plural)
    return _text(many[0], limit) if isinstance(many, list) and many else None


def _price(line: Mapping[str, Any], currency: str, exponent: int) -> int | None:
    """The unit price in the shop's minor units, from price_set.shop_money, else the plain price string."""
    price_set = line.get("price_set")
    shop_money = price_set.get("shop_money") if isinstance(price_set, Mapping) else None
    if isinstance(shop_money, Mapping):
        if str(shop_money.get("currency_code") or currency).upper() != currency:
            return None
        amount = shop_money.get("amount")
    else:
        amount = line.get("price")
    try:
        return parse_major_units(str(amount), exponent) if amount is not None else None
    except ValueError:
        return None


def _sku(sku: Any, line_id: Any) -> str:
    """A line's SKU (else its id), as a refund will name it too."""
    return _text(sku, SKU_LIMIT) or _text(line_id, SKU_LIMIT) or "?"


def _items(payload: Mapping[str, Any], currency: str, exponent: int) -> tuple[ShipmentItem, ...] | None:
    lines = payload.get("line_items")
    if not isinstance(lines, list):
        return None
    items = []
    for line in lines:
        if not isinstance(line, Mapping):
            continue
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= MAX_QUANTITY:
            continue
        unit_price = _price(line, currency, exponent)
        if unit_price is not None and not 0 <= unit_price <= MAX_AMOUNT:
            unit_price = None  # not a price we can insure by: the parcel falls back to the order's value
        items.append(
            ShipmentItem(
                sku=_sku(line.get("sku"), line.get("id")),
                quantity=quantity,
                unit_price=unit_price,
                name=_text(line.get("name"), NAME_LIMIT) or _text(line.get("title"), NAME_LIMIT),
            )
        )
    return tuple(items) or None


_POSTAL_CODE = re.compile(POSTAL_CODE_PATTERN)


def _address(value: Any) -> Destination | None:
    """A Shopify address as a destination: country_code, province_code ("CA" → "US-CA") and zip.

    Only what is valid is kept: an unknown province or an unusable zip is dropped, an unknown country
    drops the whole address (a signed delivery is never refused for its values)."""
    if not isinstance(value, Mapping):
        return None
    country = (_text(value.get("country_code")) or "").upper()
    if not iso_codes.is_country(country):
        return None
    province = (_text(value.get("province_code")) or "").upper()
    region = province if province.startswith(f"{country}-") else f"{country}-{province}"
    # Checked before any scrubbing: a zip with control characters is dropped, not stored with U+FFFD in it.
    raw_zip = value.get("zip")
    postal = raw_zip.strip() or None if isinstance(raw_zip, str) else None
    if postal is not None and (len(postal) > 32 or not _POSTAL_CODE.match(postal)):
        postal = None
    return Destination(country, region if province and iso_codes.is_region(region) else None, postal)


def _addresses(payload: Mapping[str, Any]) -> tuple[Any, ...]:
    """Where a fulfillment says its parcel goes, best first: its destination, else the order's shipping address."""
    order = payload.get("order")
    return (
        payload.get("destination"),
        payload.get("shipping_address"),
        order.get("shipping_address") if isinstance(order, Mapping) else None,
    )


def _address_key(payload: Mapping[str, Any]) -> str | None:
    """A digest of the parcel's street address (for the repeat-address signal; the address itself is not kept)."""
    for candidate in _addresses(payload):
        if isinstance(candidate, Mapping):
            line1 = _text(candidate.get("address1"))
            if line1:
                return address_key(_text(candidate.get("country_code")), _text(candidate.get("zip")), line1)
    return None


def _destination(payload: Mapping[str, Any]) -> Destination | None:
    """The fulfillment's destination, else the order's shipping address (when the payload carries it)."""
    for candidate in _addresses(payload):
        destination = _address(candidate)
        if destination is not None:
            return destination
    return None


def translate(
    topic: str, payload: Mapping[str, Any], *, currency: str, exponent: int, now: datetime
) -> PlatformFact | None:
    """The fact a webhook states, or None for topics (or payloads) this plugin does not act on."""
    if topic == "fulfillments/create":
        shipment_ref, order_id = _ref(payload.get("id")), _ref(payload.get("order_id"))
        if not shipment_ref or not order_id:
            return None
        return ShipmentRequest(
            shipment_ref=shipment_ref,
            order_id=order_id,
            carrier=_text(payload.get("tracking_company"), CARRIER_LIMIT),
            tracking_number=_first(payload, "tracking_number", "tracking_numbers", TRACKING_NUMBER_LIMIT),
            tracking_url=_first(payload, "tracking_url", "tracking_urls", URL_LIMIT),
            shipped_at=_time(payload.get("created_at"), now),
            items=_items(payload, currency, exponent),
            destination=_destination(payload),
            address_key=_address_key(payload),
        )
    if topic == "fulfillments/update":
        shipment_ref = _ref(payload.get("id"))
        if not shipment_ref:
            return None
        status = _text(payload.get("status"), STATUS_LIMIT)
        return ShipmentChanged(
            shipment_ref=shipment_ref,
            order_id=_ref(payload.get("order_id")),
            carrier=_text(payload.get("tracking_company"), CARRIER_LIMIT),
            tracking_number=_first(payload, "tracking_number", "tracking_numbers", TRACKING_NUMBER_LIMIT),
            tracking_url=_first(payload, "tracking_url", "tracking_urls", URL_LIMIT),
            cancelled=status in {"cancelled", "failure", "error"},
            shipment_status=_text(payload.get("shipment_status"), STATUS_LIMIT),
            occurred_at=_time(payload.get("updated_at"), now),
        )
    if topic == "fulfillment_events/create":
        shipment_ref, status = _ref(payload.get("fulfillment_id")), _text(payload.get("status"), STATUS_LIMIT)
        if not shipment_ref or not status:
            return None
        place = ", ".join(p for p in (_text(payload.get("city")), _text(payload.get("country"))) if p)[:LOCATION_LIMIT]
        return TrackingUpdate(
            shipment_ref=shipment_ref,
            status=status,
            occurred_at=_time(payload.get("happened_at") or payload.get("created_at"), now),
            message=_text(payload.get("message"), MESSAGE_LIMIT),
            location=place or None,
        )
    if topic in RETURN_TOPICS or topic == "reverse_deliveries/attach_deliverable":
        return _return_noted(topic, payload, currency, exponent)
    if topic in RETURN_DELIVERED_TOPICS:
        return_ref = _ref(payload.get("id"))
        return ReturnDelivered(return_ref) if return_ref else None
    if topic == "orders/cancelled":
        order_id = _ref(payload.get("id"))
        return OrderCancelled(order_id) if order_id else None
    if topic == "refunds/create":
        order_id = _ref(payload.get("order_id"))
        if not order_id:
            return None
        refunded = []
        lines = payload.get("refund_line_items")
        for entry in lines if isinstance(lines, list) else []:
            if not isinstance(entry, Mapping):
                continue
            nested = entry.get("line_item")
            line: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
            quantity = entry.get("quantity")
            if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0:
                refunded.append((_sku(line.get("sku"), entry.get("line_item_id")), quantity))
        return OrderRefunded(order_id, tuple(refunded))
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _deliverable(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The reverse delivery's shipping deliverable: the payload's own (attach_deliverable), else that of the
    return's first reverse delivery that has one."""
    own = _mapping(payload.get("shipping_deliverable")) or _mapping(payload.get("deliverable"))
    if own:
        return own
    deliveries = payload.get("reverse_deliveries")
    for delivery in deliveries if isinstance(deliveries, list) else []:
        found = _mapping(_mapping(delivery).get("shipping_deliverable")) or _mapping(
            _mapping(delivery).get("deliverable")
        )
        if found:
            return found
    return {}


def _return_noted(topic: str, payload: Mapping[str, Any], currency: str, exponent: int) -> ReturnNoted | None:
    if topic == "reverse_deliveries/attach_deliverable":
        return_ref, order_id = _ref(_mapping(payload.get("return")).get("id")), None
    else:
        return_ref = _ref(payload.get("id"))
        order_id = _ref(_mapping(payload.get("order")).get("id")) or _ref(payload.get("order_id"))
    if not return_ref:
        return None
    deliverable = _deliverable(payload)
    tracking = _mapping(deliverable.get("tracking"))
    number = _text(tracking.get("tracking_number"), TRACKING_NUMBER_LIMIT) or _text(
        tracking.get("number"), TRACKING_NUMBER_LIMIT
    )
    carrier = _text(tracking.get("carrier_name"), CARRIER_LIMIT) or _text(tracking.get("company"), CARRIER_LIMIT)
    label = _mapping(deliverable.get("label"))
    cost = label.get("price") if label.get("price") is not None else label.get("cost")
    label_cost: int | None = None
    if isinstance(cost, Mapping):
        label_cost = _price({"price_set": {"shop_money": cost}}, currency, exponent)
    elif cost is not None:
        label_cost = _price({"price": cost}, currency, exponent)
    return ReturnNoted(return_ref, order_id, carrier, number, label_cost)
