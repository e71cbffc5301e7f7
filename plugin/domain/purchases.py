"""What a protected purchase must match to be trusted, and the facts payment providers tell us."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from plugin.domain.quote_token import QuoteClaims
from plugin.domain.untrusted_text import REPLACEMENT


class ReviewReason(StrEnum):
    """Why a recorded protection waits for a person instead of being active."""

    QUOTE_INVALID = "quote_invalid"  # forged, tampered or unreadable reference
    QUOTE_OTHER_SHOP = "quote_other_shop"
    QUOTE_EXPIRED = "quote_expired"  # expired when the payment succeeded
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_MISSING = "amount_missing"  # no usable sp_amount
    AMOUNT_MISMATCH = "amount_mismatch"  # sp_amount is not the quoted customer price
    ORDER_ID_MISSING = "order_id_missing"
    # The order id could not be stored as sent (longer than an id column, or NUL / lone surrogates in it): it
    # is kept in a fitted form that matches no order, so that it never silently names another order.
    ORDER_ID_TOO_LONG = "order_id_too_long"
    ORDER_ID_UNREADABLE = "order_id_unreadable"
    LINE_ITEM_MISSING = "line_item_missing"  # the Checkout Session has no protection line
    LINE_ITEM_MISMATCH = "line_item_mismatch"  # the protection line's amount is not sp_amount


# Metadata keys the merchant's checkout puts on the PaymentIntent or Checkout Session.
QUOTE_KEY, AMOUNT_KEY, ORDER_KEY, CONSENT_KEY, EMAIL_KEY = (
    "sp_quote",
    "sp_amount",
    "order_id",
    "sp_consent",
    "customer_email",
)
METADATA_VALUE_LIMIT = 500  # Stripe's own limit on a metadata value
ORDER_ID_LIMIT = 255  # what an order id column holds; Shopify's and WooCommerce's ids are far shorter


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    """Money was received (a PaymentIntent, or a paid Checkout Session)."""

    payment_intent: str | None
    checkout_session: str | None
    amount: int | None
    currency: str
    metadata: Mapping[str, str]
    customer_email: str | None
    occurred_at: datetime
    charge: str | None = None  # the PaymentIntent's latest charge: refunds and disputes may name only it

    @property
    def payment_key(self) -> str:
        """One key per payment, whichever object told us: the PaymentIntent's id when there is one."""
        return self.payment_intent or self.checkout_session or ""


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    """A delayed payment method (SEPA, …) failed after its session completed."""

    payment_intent: str | None
    checkout_session: str | None

    @property
    def payment_key(self) -> str:
        """As PaymentSucceeded.payment_key."""
        return self.payment_intent or self.checkout_session or ""


@dataclass(frozen=True, slots=True)
class RefundsChanged:
    """Money went back: the charge's cumulative refunded amount, or one refund's state."""

    payment_key: str
    currency: str
    charge_amount: int | None = None
    amount_refunded: int | None = None  # cumulative, from a Charge
    refund_id: str | None = None  # from a Refund event
    refund_amount: int = 0
    refund_status: str | None = None
    refund_claim: str | None = None  # the claim a refund paid (our metadata on refunds the plugin makes)
    failure_reason: str | None = None  # Stripe's, on a failed refund


@dataclass(frozen=True, slots=True)
class DisputeOpened:
    """The shopper's bank disputed the payment."""

    payment_key: str
    dispute_id: str
    currency: str
    amount: int | None = None


PaymentFact = PaymentSucceeded | PaymentFailed | RefundsChanged | DisputeOpened


def parse_minor_units(text: str | None) -> int | None:
    """An sp_amount: a plain non-negative integer string ("1000"), else None."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


@dataclass(frozen=True, slots=True)
class PurchaseCheck:
    """The outcome of checking a purchase's metadata against its signed quote."""

    reasons: tuple[ReviewReason, ...] = field(default_factory=tuple)

    @property
    def trusted(self) -> bool:
        """Whether nothing needs a person's look."""
        return not self.reasons


def check_purchase(
    claims: QuoteClaims | None,
    *,
    shop_id: str,
    currency: str,
    charged: int | None,
    paid_at: datetime,
    order_id: str | None,
) -> PurchaseCheck:
    """Every way the payment disagrees with the quote it names (claims None: the reference did not verify)."""
    reasons: list[ReviewReason] = []
    if claims is None:
        reasons.append(ReviewReason.QUOTE_INVALID)
    else:
        if claims.shop_id != shop_id:
            reasons.append(ReviewReason.QUOTE_OTHER_SHOP)
        if claims.is_expired(paid_at):
            reasons.append(ReviewReason.QUOTE_EXPIRED)
        if claims.currency != currency:
            reasons.append(ReviewReason.CURRENCY_MISMATCH)
    if charged is None:
        reasons.append(ReviewReason.AMOUNT_MISSING)
    elif claims is not None and charged != claims.customer_price:
        reasons.append(ReviewReason.AMOUNT_MISMATCH)
    if not order_id:
        reasons.append(ReviewReason.ORDER_ID_MISSING)
    elif len(order_id) > ORDER_ID_LIMIT:
        reasons.append(ReviewReason.ORDER_ID_TOO_LONG)
    elif REPLACEMENT in order_id:  # an unstorable character (NUL, lone surrogate) was replaced
        reasons.append(ReviewReason.ORDER_ID_UNREADABLE)
    return PurchaseCheck(tuple(reasons))


def is_protection_line(line: Mapping[str, object]) -> bool:
    """Whether a Checkout line item is the shipping-protection line: `sp_protection` set in its metadata,
    its price's metadata, or its (expanded) product's metadata."""

    def flagged(metadata: object) -> bool:
        return isinstance(metadata, Mapping) and str(metadata.get("sp_protection", "")).lower() in {
            "1",
            "true",
            "yes",
        }

    price = line.get("price")
    product = price.get("product") if isinstance(price, Mapping) else None
    return (
        flagged(line.get("metadata"))
        or (isinstance(price, Mapping) and flagged(price.get("metadata")))
        or (isinstance(product, Mapping) and flagged(product.get("metadata")))
    )
