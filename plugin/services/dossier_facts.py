"""The claim dossier's facts: plain dataclasses (one source for summary.pdf, summary.txt and dossier.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

from plugin.iso_codes import currency_exponent

# The dossier is read by insurers' claim handlers: money is written the English way, whatever the shop's language.
MONEY_LOCALE = "en_US"


@dataclass(frozen=True, slots=True)
class Amount:
    """Money as stored (minor units and currency)."""

    minor_units: int
    currency: str


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """The order's payment (proof of value)."""

    payment_intent: str | None
    charge: str | None
    amount: Amount | None
    refunded: Amount | None
    disputed: bool
    succeeded_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """What the shopper was shown and agreed to when choosing protection."""

    id: str
    text_shown: str
    price_shown: Amount
    terms_version: str
    terms_url: str | None
    locale: str | None
    page_origin: str | None
    shown_at: datetime | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ProtectionFacts:
    """The shipping protection bought with the order."""

    id: str
    status: str
    declared_value: Amount
    premium: Amount
    customer_price: Amount
    consent_id: str | None
    consent: ConsentFacts | None
    bought_at: datetime


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """A line of the parcel."""

    sku: str
    name: str | None
    quantity: int
    unit_price: Amount | None


@dataclass(frozen=True, slots=True)
class ParcelFacts:
    """The parcel claimed for."""

    id: str
    shipment_ref: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    tracking_status: str
    shipped_at: datetime
    delivered_at: datetime | None
    destination: str | None
    items_value: Amount | None
    items: list[ItemFacts]


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """The cargo policy on the parcel."""

    id: str
    provider: str
    status: str
    certificate: str | None
    certificate_url: str | None
    provider_reference: str | None
    sum_insured: Amount
    cost: Amount | None
    bound_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrackingFacts:
    """One carrier scan."""

    occurred_at: datetime
    status: str
    message: str | None
    location: str | None


@dataclass(frozen=True, slots=True)
class EvidenceFacts:
    """One evidence file, and where it is in the ZIP (None when left out by the size cap)."""

    id: str
    role: str  # "packing" (the merchant's, on the parcel) | "claim"
    kind: str
    content_type: str
    size: int
    sha256: str
    filename: str | None
    uploaded_by: str
    uploaded_at: datetime
    entry: str | None


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """A note on the claim."""

    id: str
    author: str
    visibility: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """The decision and how the claim was settled."""

    status: str
    decided_by: str | None
    decided_at: datetime | None
    resolution: str | None
    approved_amount: Amount | None
    deny_reason: str | None
    review_reason: str | None
    reasons: list[dict[str, str]]
    signals: list[dict[str, str]]
    replacement_order_id: str | None
    reship_cost: Amount | None
    refund: dict[str, Any] | None
    paid_at: datetime | None
    paid_method: str | None
    paid_reference: str | None
    recovery: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What the shopper claimed."""

    id: str
    type: str
    source: str
    email: str | None
    description: str | None
    items: list[dict[str, Any]]
    amount: Amount
    covered_amount: Amount
    filed_at: datetime


@dataclass(frozen=True, slots=True)
class Dossier:
    """Everything about one claim that an insurer asks for."""

    shop_id: str
    shop_name: str
    order_id: str
    generated_at: datetime
    claim: ClaimFacts
    decision: DecisionFacts
    payment: PaymentFacts | None
    protection: ProtectionFacts | None
    parcel: ParcelFacts
    policy: PolicyFacts | None
    tracking: list[TrackingFacts]
    evidence: list[EvidenceFacts] = field(default_factory=list)
    messages: list[MessageFacts] = field(default_factory=list)


def money(amount: Amount) -> str:
    """Minor units as written (`$1,234.50`, `¥5,000`, `KWD 1.250`), exact through Decimal and the exponent."""
    try:
        exponent = currency_exponent(amount.currency)
    except ValueError:  # a code babel does not know: the minor units, said plainly
        return f"{amount.minor_units} minor units of {amount.currency}"
    value = Decimal(amount.minor_units).scaleb(-exponent)
    return format_currency(value, amount.currency, locale=MONEY_LOCALE, currency_digits=True)
