"""How the claims pages name a claim's statuses, types, signals and reasons, in the reader's language, and how
they write its money and times. The codes are the contract's; these are only their words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext

from plugin import terms
from plugin.admin.listing import shop_zone
from plugin.i18n import page_language
from plugin.iso_codes import currency_exponent
from plugin.models import Shop
from plugin.services.settings import effective_settings

STATUSES = {
    "needs_review": lazy_gettext("Needs review"),
    "submitted": lazy_gettext("Waiting for a decision"),
    "approved": lazy_gettext("Approved"),
    "paid": lazy_gettext("Paid"),
    "reshipped": lazy_gettext("Reshipped"),
    "denied": lazy_gettext("Denied"),
}
TYPES = {
    "lost": lazy_gettext("Lost"),
    "stolen": lazy_gettext("Stolen"),
    "damaged": lazy_gettext("Damaged"),
    "delayed": lazy_gettext("Delayed"),
    "missing_items": lazy_gettext("Missing items"),
    "return_shipping": lazy_gettext("Return shipping"),
}
# A signal's name and what it means; the claim's own detail says what it rests on.
SIGNALS = {
    "repeat_claimant": (
        lazy_gettext("Repeat claimant"),
        lazy_gettext("The same email filed another claim within the customer limit's window."),
    ),
    "repeat_address": (
        lazy_gettext("Repeat address"),
        lazy_gettext("Another customer claimed for a parcel sent to the same address."),
    ),
    "evidence_reused": (
        lazy_gettext("Evidence reused"),
        lazy_gettext("A file is byte for byte the same as evidence sent with an earlier claim."),
    ),
    "evidence_similar": (
        lazy_gettext("Similar photo"),
        lazy_gettext("A photo looks like one sent with an earlier claim (resized or saved again)."),
    ),
    "filed_right_after_delivery": (
        lazy_gettext("Filed right after delivery"),
        lazy_gettext("A stolen-parcel claim filed within 30 minutes of the carrier's delivered scan."),
    ),
    "high_value": (
        lazy_gettext("High value"),
        lazy_gettext("The amount is more than 5 times the shop's median order."),
    ),
}
REASONS = {
    "above_auto_approval": lazy_gettext("Above the automatic approval limit"),
    "auto_approved": lazy_gettext("Approved automatically"),
    "no_amount": lazy_gettext("Nothing to pay automatically"),
    "no_refund_route": lazy_gettext("No Stripe refund possible"),
    "payment_disputed": lazy_gettext("Payment disputed"),
    "approved": lazy_gettext("Approved by the merchant"),
    "denied": lazy_gettext("Denied by the merchant"),
    "paid_outside_stripe": lazy_gettext("Paid outside Stripe"),
    "refund_failed": lazy_gettext("Refund failed"),
    "refund_retried": lazy_gettext("Refund asked again"),
    "recovery_recorded": lazy_gettext("Insurer outcome recorded"),
    **{code: title for code, (title, _meaning) in SIGNALS.items()},
}
REVIEW_REASONS = {
    "payment_disputed": lazy_gettext(
        "The payment is disputed: the claim cannot be approved or paid until it is settled."
    ),
    "fraud_signals": lazy_gettext("Fraud signals were found: a person should look before deciding."),
}
REFUND_STATUSES = {
    "pending": lazy_gettext("Queued or pending at Stripe"),
    "sending": lazy_gettext("Being sent to Stripe"),
    "requires_action": lazy_gettext("Waiting for the customer at Stripe"),
    "succeeded": lazy_gettext("Succeeded"),
    "failed": lazy_gettext("Failed"),
    "cancelled": lazy_gettext("Called off (paid another way)"),
}
RECOVERY_STATUSES = {
    "pending": lazy_gettext("To be filed with the insurer"),
    "filed": lazy_gettext("Filed with the insurer"),
    "in_review": lazy_gettext("In review at the insurer"),
    "approved": lazy_gettext("Approved by the insurer"),
    "paid": lazy_gettext("Paid by the insurer"),
    "rejected": lazy_gettext("Rejected by the insurer"),
    "manual": lazy_gettext("To file by hand"),
    "reserve": lazy_gettext("Self-insured: the reserve pays"),
}
PAID_METHODS = {
    "bank_transfer": lazy_gettext("Bank transfer"),
    "store_credit": lazy_gettext("Store credit"),
    "paypal": lazy_gettext("PayPal"),
    "cash": lazy_gettext("Cash"),
    "other": lazy_gettext("Another way"),
    "stripe_refund": lazy_gettext("Stripe refund"),
}
# What the merchant may record by hand (a Stripe refund is recorded by Stripe's answer, never typed).
MARK_PAID_METHODS = ("bank_transfer", "store_credit", "paypal", "cash", "other")


def word(table: Mapping[str, object], code: str | None) -> str:
    """The words for a code, or the code itself when it is one this page does not know."""
    if code is None:
        return ""
    return str(table.get(code, code))


def money(minor_units: int | None, currency: str) -> str:
    """Minor units as the page's language writes money (`$1,234.50`, `US$1,234.50`)."""
    if minor_units is None:
        return ""
    return terms.money(minor_units, currency, page_language())


def plain_amount(minor_units: int | None, currency: str) -> str:
    """Minor units as a plain decimal in the currency's unit (`1234.50`, `5000` for yen): for CSV and form fields."""
    if minor_units is None:
        return ""
    exponent = currency_exponent(currency)
    return f"{Decimal(minor_units).scaleb(-exponent):.{exponent}f}"


def zone_of(shop: Shop) -> ZoneInfo:
    """The shop's time zone (`shop.timezone` in settings, once there is one), else UTC."""
    part = effective_settings(shop).get("shop")
    return shop_zone(part.get("timezone") if isinstance(part, dict) else None)


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """A time as the shop's clock reads it, with the zone's name."""
    if moment is None:
        return ""
    return f"{moment.astimezone(zone).strftime('%Y-%m-%d %H:%M')} {zone.key}"
