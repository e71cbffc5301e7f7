"""How the claims pages name a claim's statuses, types, signals and reasons, in the reader's language, and how
they write its money and times. The codes are the contract's; these are only their words."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from plugin import terms
from plugin.admin.listing import shop_zone
from plugin.i18n import page_language
from plugin.iso_codes import currency_exponent
from plugin.models import Shop
from plugin.services.settings import effective_settings

STATUSES = {
    "needs_review": _l("Needs review"),
    "submitted": _l("Waiting for a decision"),
    "approved": _l("Approved"),
    "paid": _l("Paid"),
    "reshipped": _l("Reshipped"),
    "denied": _l("Denied"),
}
TYPES = {
    "lost": _l("Lost"),
    "stolen": _l("Stolen"),
    "damaged": _l("Damaged"),
    "delayed": _l("Delayed"),
    "missing_items": _l("Missing items"),
}
# A signal's name and what it means; the claim's own detail says what it rests on.
SIGNALS = {
    "repeat_claimant": (
        _l("Repeat claimant"),
        _l("The same email filed another claim within the customer limit's window."),
    ),
    "repeat_address": (
        _l("Repeat address"),
        _l("Another customer claimed for a parcel sent to the same address."),
    ),
    "evidence_reused": (
        _l("Evidence reused"),
        _l("A file is byte for byte the same as evidence sent with an earlier claim."),
    ),
    "evidence_similar": (
        _l("Similar photo"),
        _l("A photo looks like one sent with an earlier claim (resized or saved again)."),
    ),
    "filed_right_after_delivery": (
        _l("Filed right after delivery"),
        _l("A stolen-parcel claim filed within 30 minutes of the carrier's delivered scan."),
    ),
    "high_value": (
        _l("High value"),
        _l("The amount is more than 5 times the shop's median order."),
    ),
}
REASONS = {
    "above_auto_approval": _l("Above the automatic approval limit"),
    "auto_approved": _l("Approved automatically"),
    "no_amount": _l("Nothing to pay automatically"),
    "no_refund_route": _l("No Stripe refund possible"),
    "payment_disputed": _l("Payment disputed"),
    "approved": _l("Approved by the merchant"),
    "denied": _l("Denied by the merchant"),
    "paid_outside_stripe": _l("Paid outside Stripe"),
    "refund_failed": _l("Refund failed"),
    "refund_retried": _l("Refund asked again"),
    "recovery_recorded": _l("Insurer outcome recorded"),
    **{code: title for code, (title, _meaning) in SIGNALS.items()},
}
REVIEW_REASONS = {
    "payment_disputed": _l("The payment is disputed: the claim cannot be approved or paid until it is settled."),
    "fraud_signals": _l("Fraud signals were found: a person should look before deciding."),
}
REFUND_STATUSES = {
    "pending": _l("Queued or pending at Stripe"),
    "sending": _l("Being sent to Stripe"),
    "requires_action": _l("Waiting for the customer at Stripe"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
    "cancelled": _l("Called off (paid another way)"),
}
RECOVERY_STATUSES = {
    "pending": _l("To be filed with the insurer"),
    "filed": _l("Filed with the insurer"),
    "in_review": _l("In review at the insurer"),
    "approved": _l("Approved by the insurer"),
    "paid": _l("Paid by the insurer"),
    "rejected": _l("Rejected by the insurer"),
    "manual": _l("To file by hand"),
    "reserve": _l("Self-insured: the reserve pays"),
}
PAID_METHODS = {
    "bank_transfer": _l("Bank transfer"),
    "store_credit": _l("Store credit"),
    "paypal": _l("PayPal"),
    "cash": _l("Cash"),
    "other": _l("Another way"),
    "stripe_refund": _l("Stripe refund"),
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
